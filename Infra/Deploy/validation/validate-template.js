// Validates a CloudFormation template against the AWS resource specification shipped in
// @aws-cdk/aws-service-spec: resource types, property names, required properties, value types
// (recursively through nested property types), Ref/GetAtt/Sub targets and attributes, DependsOn.
// Usage: node validate-template.js <template.yaml>   (exit code 1 and one line per error when invalid)
'use strict';
const fs = require('node:fs');
const yaml = require('js-yaml');
const { loadAwsServiceSpecSync } = require('@aws-cdk/aws-service-spec');

const FUNCTIONS = ['Ref', 'Condition', 'Fn::Base64', 'Fn::Cidr', 'Fn::FindInMap', 'Fn::GetAtt', 'Fn::GetAZs',
  'Fn::ImportValue', 'Fn::Join', 'Fn::Select', 'Fn::Split', 'Fn::Sub', 'Fn::Transform', 'Fn::And', 'Fn::Equals',
  'Fn::If', 'Fn::Not', 'Fn::Or', 'Fn::Length', 'Fn::ToJsonString'];

const tags = FUNCTIONS.flatMap(name => {
  const tag = '!' + (name === 'Ref' || name === 'Condition' ? name : name.slice(4));
  return ['scalar', 'sequence', 'mapping'].map(kind => new yaml.Type(tag, {
    kind,
    construct: data => ({ [name]: name === 'Fn::GetAtt' && typeof data === 'string' ? splitGetAtt(data) : data }),
  }));
});
const schema = yaml.DEFAULT_SCHEMA.extend(tags);

function splitGetAtt(text) {
  const dot = text.indexOf('.');
  return dot < 0 ? [text] : [text.slice(0, dot), text.slice(dot + 1)];
}

const TOP_LEVEL = new Set(['AWSTemplateFormatVersion', 'Description', 'Metadata', 'Parameters', 'Mappings', 'Conditions',
  'Transform', 'Resources', 'Outputs', 'Rules']);
const RESOURCE_KEYS = new Set(['Type', 'Properties', 'DependsOn', 'Condition', 'DeletionPolicy', 'UpdateReplacePolicy',
  'Metadata', 'CreationPolicy', 'UpdatePolicy']);
const PSEUDO = new Set(['AWS::AccountId', 'AWS::NotificationARNs', 'AWS::NoValue', 'AWS::Partition', 'AWS::Region',
  'AWS::StackId', 'AWS::StackName', 'AWS::URLSuffix']);

function validate(template, db) {
  const errors = [];
  const error = (where, message) => errors.push(`${where}: ${message}`);
  if (!template || typeof template !== 'object') return ['template: not a mapping'];

  for (const key of Object.keys(template)) if (!TOP_LEVEL.has(key)) error(key, 'unknown top-level section');
  const parameters = template.Parameters || {};
  const conditions = template.Conditions || {};
  const resources = template.Resources || {};
  if (Object.keys(resources).length === 0) error('Resources', 'a template needs at least one resource');

  const specs = {};
  for (const [id, resource] of Object.entries(resources)) {
    const where = `Resources.${id}`;
    if (!resource || typeof resource !== 'object') { error(where, 'not a mapping'); continue; }
    for (const key of Object.keys(resource)) if (!RESOURCE_KEYS.has(key)) error(where, `unknown resource attribute '${key}'`);
    if (typeof resource.Type !== 'string') { error(where, 'Type is missing'); continue; }
    if (resource.Type.startsWith('Custom::')) continue;
    const found = db.lookup('resource', 'cloudFormationType', 'equals', resource.Type);
    if (found.length !== 1) { error(where, `unknown resource type ${resource.Type}`); continue; }
    specs[id] = found[0];
  }

  const checkTarget = (where, name) => {
    if (!(name in resources) && !(name in parameters) && !PSEUDO.has(name)) error(where, `Ref to unknown name '${name}'`);
  };
  const checkAttribute = (where, id, attribute) => {
    if (!(id in resources)) { error(where, `Fn::GetAtt of unknown resource '${id}'`); return; }
    const spec = specs[id];
    if (!spec) return;
    const top = String(attribute).split('.')[0];
    const attributes = spec.attributes || {};
    const known = Object.keys(attributes).some(a => a === attribute || a === top || a.split('.')[0] === top);
    if (!known) error(where, `${resources[id].Type} has no attribute '${attribute}' (has ${Object.keys(attributes).join(', ')})`);
  };

  // Walks any value: checks intrinsic function targets wherever they appear.
  const walk = (where, value) => {
    if (Array.isArray(value)) { value.forEach((v, i) => walk(`${where}[${i}]`, v)); return; }
    if (!value || typeof value !== 'object') return;
    const keys = Object.keys(value);
    if (keys.length === 1 && FUNCTIONS.includes(keys[0])) {
      const [fn] = keys;
      const arg = value[fn];
      if (fn === 'Ref') checkTarget(where, arg);
      else if (fn === 'Fn::GetAtt') {
        if (!Array.isArray(arg) || arg.length !== 2) error(where, 'Fn::GetAtt needs [resource, attribute]');
        else checkAttribute(where, arg[0], arg[1]);
      } else if (fn === 'Fn::Sub') {
        const [text, vars] = Array.isArray(arg) ? arg : [arg, {}];
        if (typeof text !== 'string') error(where, 'Fn::Sub needs a string');
        else for (const match of text.matchAll(/\$\{([^!}][^}]*)\}/g)) {
          const name = match[1];
          if (vars && name in vars) continue;
          const dot = name.indexOf('.');
          if (dot > 0 && !name.startsWith('AWS::')) checkAttribute(where, name.slice(0, dot), name.slice(dot + 1));
          else checkTarget(where, name);
        }
        if (vars) walk(where, vars);
      } else if (fn === 'Fn::If' || fn === 'Condition') {
        const name = fn === 'Fn::If' ? arg[0] : arg;
        if (!(name in conditions)) error(where, `unknown condition '${name}'`);
        if (fn === 'Fn::If') { walk(where, arg[1]); walk(where, arg[2]); }
      } else walk(where, arg);
      return;
    }
    for (const [k, v] of Object.entries(value)) walk(`${where}.${k}`, v);
  };

  const isIntrinsic = value => value && typeof value === 'object' && !Array.isArray(value)
    && Object.keys(value).length === 1 && FUNCTIONS.includes(Object.keys(value)[0]);

  // Checks a value against a spec type.
  const checkType = (where, value, type, resourceSpec) => {
    if (isIntrinsic(value)) {
      const [fn] = Object.keys(value);
      if (fn === 'Fn::If') {
        const arg = value[fn];
        [arg[1], arg[2]].forEach((branch, i) => {
          if (!(isIntrinsic(branch) && branch.Ref === 'AWS::NoValue')) checkType(`${where}<if ${i}>`, branch, type, resourceSpec);
        });
      }
      return; // other functions produce values of any type at deploy time
    }
    switch (type.type) {
      case 'string':
        if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') error(where, `expected a string, got ${JSON.stringify(value)}`);
        return;
      case 'integer':
      case 'number':
        if (typeof value !== 'number' && !(typeof value === 'string' && value.trim() !== '' && !isNaN(Number(value)))) error(where, `expected a number, got ${JSON.stringify(value)}`);
        return;
      case 'boolean':
        if (typeof value !== 'boolean' && value !== 'true' && value !== 'false') error(where, `expected a boolean, got ${JSON.stringify(value)}`);
        return;
      case 'date-time':
        if (typeof value !== 'string') error(where, 'expected a date-time string');
        return;
      case 'json':
        if (typeof value !== 'object' && typeof value !== 'string') error(where, 'expected a JSON object');
        return;
      case 'null':
        return;
      case 'tag':
        if (!value || typeof value !== 'object' || !('Key' in value) || !('Value' in value)) error(where, 'expected a tag { Key, Value }');
        return;
      case 'array':
        if (!Array.isArray(value)) { error(where, `expected a list, got ${JSON.stringify(value)}`); return; }
        value.forEach((item, i) => checkType(`${where}[${i}]`, item, type.element, resourceSpec));
        return;
      case 'map':
        if (!value || typeof value !== 'object' || Array.isArray(value)) { error(where, 'expected a map'); return; }
        for (const [k, v] of Object.entries(value)) checkType(`${where}.${k}`, v, type.element, resourceSpec);
        return;
      case 'ref': {
        const definition = db.get('typeDefinition', type.reference.$ref);
        checkProperties(where, value, definition.properties || {}, resourceSpec);
        return;
      }
      case 'union': {
        const before = errors.length;
        for (const option of type.types) {
          const mark = errors.length;
          checkType(where, value, option, resourceSpec);
          if (errors.length === mark) { errors.length = before; return; }
          errors.length = mark;
        }
        error(where, `value matches none of ${type.types.map(t => t.type === 'ref' ? db.get('typeDefinition', t.reference.$ref).name : t.type).join(' | ')}`);
        return;
      }
      default:
        return;
    }
  };

  const checkProperties = (where, value, properties, resourceSpec) => {
    if (!value || typeof value !== 'object' || Array.isArray(value)) { error(where, `expected a mapping, got ${JSON.stringify(value)}`); return; }
    for (const [name, propertyValue] of Object.entries(value)) {
      const property = properties[name];
      if (!property) {
        const near = Object.keys(properties).find(p => p.toLowerCase() === name.toLowerCase());
        error(`${where}.${name}`, `unknown property${near ? ` (did you mean ${near}?)` : ''}`);
        continue;
      }
      const types = [property.type, ...(property.previousTypes || [])];
      const before = errors.length;
      let ok = false;
      for (const type of types) {
        const mark = errors.length;
        checkType(`${where}.${name}`, propertyValue, type, resourceSpec);
        if (errors.length === mark) { ok = true; break; }
        if (type !== types[types.length - 1]) errors.length = mark;
      }
      if (ok) errors.length = before;
    }
    for (const [name, property] of Object.entries(properties)) {
      if (property.required && !(name in value)) error(`${where}.${name}`, 'required property is missing');
    }
  };

  for (const [id, resource] of Object.entries(resources)) {
    const spec = specs[id];
    if (!spec) continue;
    const where = `Resources.${id}.Properties`;
    checkProperties(where, resource.Properties || {}, spec.properties || {}, spec);
    walk(where, resource.Properties || {});
    for (const dependency of [].concat(resource.DependsOn || [])) {
      if (!(dependency in resources)) error(`Resources.${id}.DependsOn`, `unknown resource '${dependency}'`);
    }
    if (resource.Condition && !(resource.Condition in conditions)) error(`Resources.${id}.Condition`, `unknown condition '${resource.Condition}'`);
  }
  walk('Conditions', conditions);
  for (const [name, output] of Object.entries(template.Outputs || {})) {
    if (!output || !('Value' in output)) error(`Outputs.${name}`, 'Value is missing');
    walk(`Outputs.${name}`, output);
  }
  for (const [name, parameter] of Object.entries(parameters)) {
    if (!parameter || typeof parameter.Type !== 'string') error(`Parameters.${name}`, 'Type is missing');
  }
  return errors;
}

if (require.main === module) {
  const file = process.argv[2];
  if (!file) { console.error('usage: node validate-template.js <template.yaml>'); process.exit(2); }
  let template;
  try {
    template = yaml.load(fs.readFileSync(file, 'utf8'), { schema });
  } catch (err) {
    console.error(`${file}: ${err.message}`);
    process.exit(1);
  }
  const errors = validate(template, loadAwsServiceSpecSync());
  if (errors.length) {
    for (const e of errors) console.error(e);
    console.error(`${file}: ${errors.length} error(s)`);
    process.exit(1);
  }
  console.log(`${file}: ${Object.keys(template.Resources).length} resources valid against @aws-cdk/aws-service-spec`);
}

module.exports = { validate, schema };

// Runs cognito-local on PORT with its state in COGNITO_DATA_DIR/.cognito. Tokens are issued as
// "<COGNITO_ISSUER_DOMAIN>/<poolId>", the address clients reach it at, so a service can validate the
// issuer exactly as it does against Cognito in AWS.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const dataDir = process.env.COGNITO_DATA_DIR || path.join(process.cwd(), '.data', 'cognito');
const port = process.env.PORT || '9229';
const issuerDomain = process.env.COGNITO_ISSUER_DOMAIN || `http://localhost:${port}`;

fs.mkdirSync(path.join(dataDir, '.cognito', 'db'), { recursive: true });
const configFile = path.join(dataDir, '.cognito', 'config.json');
const config = fs.existsSync(configFile) ? JSON.parse(fs.readFileSync(configFile, 'utf8')) : {};
config.TokenConfig = { ...(config.TokenConfig || {}), IssuerDomain: issuerDomain.replace(/\/$/, '') };
fs.writeFileSync(configFile, JSON.stringify(config, null, 2));

process.env.HOST = process.env.HOST || '127.0.0.1';
process.env.PORT = port;
process.env.CODE = process.env.COGNITO_CONFIRMATION_CODE || '123456';
process.chdir(dataDir);
require('cognito-local/lib/bin/start.js');

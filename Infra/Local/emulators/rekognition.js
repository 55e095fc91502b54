// The local stand-in for Amazon Rekognition's image operations, as a plain Node process: Rekognition's JSON 1.1
// protocol (POST /, X-Amz-Target: RekognitionService.<Operation>), SigV4 checked as the service checks it, its
// response shapes and its errors for bad input. It looks at the pixels with real models that ship inside pinned npm
// packages, on TensorFlow.js's wasm backend; nothing is downloaded at run time:
//   DetectFaces            BlazeFace (MediaPipe, Apache-2.0) from @vladmandic/human
//   DetectLabels           CenterNet on MobileNet-v3 (COCO's 80 object classes) from @vladmandic/human, named as
//                          Rekognition names them, with Rekognition-style parents; not Rekognition's own taxonomy
//   DetectModerationLabels nsfwjs' MobileNetV2 (MIT), its classes mapped onto Rekognition's moderation labels
// Answers name the local models (LabelModelVersion, ModerationModelVersion), so nobody mistakes them for AWS's.
//
// Environment: PORT, REKOGNITION_ACCESS_KEY_ID and REKOGNITION_SECRET_ACCESS_KEY (the one key it accepts).
'use strict';
const crypto = require('node:crypto');
const http = require('node:http');
const fs = require('node:fs');
const path = require('node:path');
const sigv4 = require('./sigv4');

const port = Number(process.env.PORT || 0);
const accessKeyId = process.env.REKOGNITION_ACCESS_KEY_ID || 'S3RVER';
const secretAccessKey = process.env.REKOGNITION_SECRET_ACCESS_KEY || accessKeyId;
const maxImageBytes = 5 * 1024 * 1024;
const maxRequestBytes = 8 * 1024 * 1024;
const modulesDir = path.join(__dirname, 'node_modules');
const humanModels = path.join(modulesDir, '@vladmandic', 'human', 'models');
const wasmDir = path.join(modulesDir, '@tensorflow', 'tfjs-backend-wasm', 'dist') + path.sep;

const LabelModelVersion = 'local-centernet-mobilenetv3-coco80';
const ModerationModelVersion = 'local-nsfwjs-mobilenetv2';

class RekognitionError extends Error {
  constructor(status, type, message) {
    super(message);
    this.status = status;
    this.type = type;
  }
}

// COCO class → the name Rekognition uses, and the parents Rekognition gives it (parents are labels too).
const Renamed = { 'cell phone': 'Mobile Phone', 'tv': 'Television', 'sports ball': 'Ball', 'hair drier': 'Hair Dryer', 'motorbike': 'Motorcycle', 'aeroplane': 'Airplane' };
const Families = [
  [['cat', 'dog'], ['Pet', 'Mammal', 'Animal']],
  [['horse', 'sheep', 'cow', 'elephant', 'bear', 'zebra', 'giraffe'], ['Mammal', 'Animal']],
  [['bird'], ['Animal']],
  [['bicycle', 'car', 'motorcycle', 'motorbike', 'airplane', 'aeroplane', 'bus', 'train', 'truck', 'boat'], ['Vehicle', 'Transportation']],
  [['banana', 'apple', 'sandwich', 'orange', 'broccoli', 'carrot', 'hot dog', 'pizza', 'donut', 'cake'], ['Food']],
  [['chair', 'couch', 'bed', 'dining table', 'toilet'], ['Furniture']],
  [['cup', 'bottle', 'wine glass'], ['Tableware']],
];
function labelName(coco) {
  return Renamed[coco] || coco.split(' ').map(w => w[0].toUpperCase() + w.slice(1)).join(' ');
}
function parentsOf(coco) {
  return (Families.find(([members]) => members.includes(coco)) || [[], []])[1];
}

// nsfwjs class → Rekognition moderation label and its parent (top-level labels have an empty parent).
const Moderation = {
  Porn: [{ Name: 'Explicit Nudity', ParentName: 'Explicit' }, { Name: 'Explicit', ParentName: '' }],
  Hentai: [{ Name: 'Explicit Nudity', ParentName: 'Explicit' }, { Name: 'Explicit', ParentName: '' }],
  Sexy: [{ Name: 'Suggestive', ParentName: '' }],
};

let models;
const ready = (async () => {
  const tf = require('@tensorflow/tfjs-core');
  const wasm = require('@tensorflow/tfjs-backend-wasm');
  wasm.setWasmPaths(wasmDir);
  // Human loads its models by URL; Node's fetch has no file: scheme, so they are served to it on the loopback.
  const modelServer = http.createServer((req, res) => {
    fs.readFile(path.join(humanModels, path.basename(decodeURIComponent(req.url))), (err, data) => {
      res.writeHead(err ? 404 : 200);
      res.end(err ? undefined : data);
    });
  });
  await new Promise(resolve => modelServer.listen(0, '127.0.0.1', resolve));
  const { Human } = require(path.join(modulesDir, '@vladmandic', 'human', 'dist', 'human.node-wasm.js'));
  const human = new Human({
    backend: 'wasm', wasmPath: wasmDir, modelBasePath: `http://127.0.0.1:${modelServer.address().port}/`, debug: false,
    async: true, cacheSensitivity: 0, filter: { enabled: false },
    face: {
      enabled: true, detector: { rotation: false, maxDetected: 100, minConfidence: 0.5, return: false },
      mesh: { enabled: false }, iris: { enabled: false }, description: { enabled: false }, emotion: { enabled: false },
      antispoof: { enabled: false }, liveness: { enabled: false },
    },
    body: { enabled: false }, hand: { enabled: false }, gesture: { enabled: false }, segmentation: { enabled: false },
    object: { enabled: true, minConfidence: 0.2, maxDetected: 50 },
  });
  await human.load();
  modelServer.close();
  // nsfwjs's own loader peaked at 690 MB (its main entry requires all three of its models' weights, and its base64
  // handler is costly); its MobileNetV2 files read here and handed to TensorFlow.js from memory peak at ~170 MB.
  const { load: loadNsfw } = require('nsfwjs/core');
  const nsfwModel = path.join(modulesDir, 'nsfwjs', 'dist', 'models', 'mobilenet_v2');
  const topology = require(path.join(nsfwModel, 'model.min.js'));
  const weights = Buffer.from(require(path.join(nsfwModel, 'group1-shard1of1.min.js')), 'base64');
  const nsfw = await loadNsfw(tf.io.fromMemory({
    modelTopology: topology.modelTopology,
    weightSpecs: topology.weightsManifest.flatMap(group => group.weights),
    weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength),
  }), { size: 224 });
  models = { tf, human, nsfw };
  console.log(`rekognition: models ready (backend ${tf.getBackend()}, rss ${Math.round(process.memoryUsage().rss / 1048576)} MB)`);
})();
ready.catch(err => {
  console.error('rekognition: the models could not be loaded', err);
  process.exit(1);
});

const recent = new Map();

// One image at a time: the models share one wasm heap, and two cores are better spent on the service.
let queue = Promise.resolve();
function serialized(work) {
  const run = queue.then(work, work);
  queue = run.catch(() => {});
  return run;
}

function decodeImage(image) {
  if (!image || typeof image !== 'object') throw new RekognitionError(400, 'InvalidParameterException', 'Image is required.');
  if (image.S3Object) {
    throw new RekognitionError(400, 'InvalidParameterException', 'The local Rekognition reads images from Image.Bytes only, not from S3Object.');
  }
  if (typeof image.Bytes !== 'string' || image.Bytes.length === 0) throw new RekognitionError(400, 'InvalidParameterException', 'Image.Bytes is required.');
  const bytes = Buffer.from(image.Bytes, 'base64');
  if (bytes.length > maxImageBytes) throw new RekognitionError(400, 'ImageTooLargeException', `The image is ${bytes.length} bytes; the limit for Image.Bytes is ${maxImageBytes} bytes.`);
  const hash = crypto.createHash('sha256').update(bytes).digest('hex');
  const seen = recent.get(hash);
  if (seen) return seen.image;
  let decoded;
  try {
    if (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) {
      decoded = require('jpeg-js').decode(bytes, { useTArray: true, formatAsRGBA: true, maxMemoryUsageInMB: 512 });
    } else if (bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) {
      decoded = require('pngjs').PNG.sync.read(bytes);
    }
  } catch {
    decoded = undefined;
  }
  if (!decoded || !decoded.width || !decoded.height) throw new RekognitionError(400, 'InvalidImageFormatException', 'Request has invalid image format');
  const rgb = new Float32Array(decoded.width * decoded.height * 3);
  for (let i = 0, j = 0; i < decoded.data.length; i += 4) {
    rgb[j++] = decoded.data[i];
    rgb[j++] = decoded.data[i + 1];
    rgb[j++] = decoded.data[i + 2];
  }
  const decodedImage = { width: decoded.width, height: decoded.height, rgb, hash };
  entryOf(decodedImage);
  return decodedImage;
}

function minConfidence(request, fallback) {
  const value = request.MinConfidence ?? fallback;
  if (typeof value !== 'number' || value < 0 || value > 100) throw new RekognitionError(400, 'InvalidParameterException', 'MinConfidence must be a number from 0 to 100.');
  return value;
}

function box([x, y, w, h]) {
  const clamp = v => Math.min(1, Math.max(0, v));
  const left = clamp(x);
  const top = clamp(y);
  return { Width: clamp(x + w) - left, Height: clamp(y + h) - top, Left: left, Top: top };
}

// CenterNet's scores sit far below Rekognition's confidences for the same certainty (a clear cup scores ~0.4), so
// Rekognition's default threshold of 55 would hide most of what it finds: its own threshold (0.2) maps to 50 and a
// score of 1 to 100, linearly.
function objectConfidence(score) {
  return Math.round((50 + (50 * Math.max(0, score - 0.2) / 0.8)) * 1000) / 1000;
}

// Human merges a call's configuration into its own for good: every call says which of the two it runs.
const FacesOnly = { face: { enabled: true }, object: { enabled: false } };
const ObjectsOnly = { face: { enabled: false }, object: { enabled: true } };

function iou(a, b) {
  const x = Math.max(0, Math.min(a[0] + a[2], b[0] + b[2]) - Math.max(a[0], b[0]));
  const y = Math.max(0, Math.min(a[1] + a[3], b[1] + b[3]) - Math.max(a[1], b[1]));
  const overlap = x * y;
  return overlap / ((a[2] * a[3]) + (b[2] * b[3]) - overlap);
}

// The face detector squeezes its input into a square, which makes the faces of a wide or tall photo unrecognisable.
// Such photos are looked at in overlapping squares instead (each as wide as the photo's short side, half of one
// apart), the boxes mapped back to the whole photo and their duplicates merged.
async function detectFaces(human, tensor, width, height) {
  const side = Math.min(width, height);
  const long = Math.max(width, height);
  if (long / side <= 1.25) {
    const result = await human.detect(tensor, FacesOnly);
    return result.face.map(face => ({ boxRaw: face.boxRaw, score: face.boxScore }));
  }
  const found = [];
  for (let offset = 0; ; offset = Math.min(offset + (side / 2), long - side)) {
    const at = Math.round(offset);
    const [x0, y0] = width >= height ? [at, 0] : [0, at];
    const tile = tensor.slice([0, y0, x0, 0], [1, side, side, 3]);
    try {
      const result = await human.detect(tile, FacesOnly);
      for (const face of result.face) {
        const [x, y, w, h] = face.boxRaw;
        found.push({ boxRaw: [(x0 + (x * side)) / width, (y0 + (y * side)) / height, (w * side) / width, (h * side) / height], score: face.boxScore });
      }
    } finally {
      tile.dispose();
    }
    if (at >= long - side) break;
  }
  const kept = [];
  for (const face of found.sort((a, b) => b.score - a.score)) {
    if (kept.every(k => iou(k.boxRaw, face.boxRaw) < 0.3)) kept.push(face);
  }
  return kept;
}

// The last few images, by their bytes' hash: decoded once, and one pass of each model, for the three calls a client
// makes for one image. The faces' pass is queued first, whichever call arrives first: a client cutting square
// thumbnails waits for DetectFaces alone, and should not wait behind the heavier object detector.
const passes = {
  faces: image => withTensor(image, tensor => detectFaces(models.human, tensor, image.width, image.height)),
  objects: image => withTensor(image, async tensor => (await models.human.detect(tensor, ObjectsOnly)).object),
  moderation: async image => {
    const tensor = models.tf.tensor3d(Int32Array.from(image.rgb), [image.height, image.width, 3], 'int32');
    try {
      return await models.nsfw.classify(tensor);
    } finally {
      tensor.dispose();
    }
  },
};

async function withTensor(image, work) {
  const tensor = models.tf.tensor4d(image.rgb, [1, image.height, image.width, 3], 'float32');
  try {
    return await work(tensor);
  } finally {
    tensor.dispose();
  }
}

function entryOf(image) {
  let entry = recent.get(image.hash);
  if (!entry) {
    entry = { image, runs: new Map() };
    recent.set(image.hash, entry);
    // A decoded 1920x1080 photo is 25 MB of floats: three are kept, enough for the calls that arrive together.
    while (recent.size > 3) recent.delete(recent.keys().next().value);
  }
  return entry;
}

function pass(image, name) {
  const { runs } = entryOf(image);
  if (name !== 'faces' && !runs.has('faces')) pass(image, 'faces');
  if (!runs.has(name)) {
    const result = serialized(() => passes[name](image));
    // A pass that failed is run again when next asked for.
    result.catch(() => runs.delete(name));
    runs.set(name, result);
  }
  return runs.get(name);
}

const operations = {
  async DetectFaces(request) {
    const image = decodeImage(request.Image);
    const faces = await pass(image, 'faces');
    return {
      FaceDetails: faces.map(face => ({ BoundingBox: box(face.boxRaw), Confidence: Math.round(face.score * 100000) / 1000 })),
    };
  },

  async DetectLabels(request) {
    const image = decodeImage(request.Image);
    const min = minConfidence(request, 55);
    if (request.MaxLabels !== undefined && (!Number.isInteger(request.MaxLabels) || request.MaxLabels < 0)) {
      throw new RekognitionError(400, 'InvalidParameterException', 'MaxLabels must be a whole number of 0 or more.');
    }
    const objects = await pass(image, 'objects');
    const labels = new Map();
    const add = (name, confidence, instance, parents) => {
      const label = labels.get(name) || { Name: name, Confidence: 0, Instances: [], Parents: parents.map(p => ({ Name: p })), Aliases: [], Categories: [] };
      label.Confidence = Math.max(label.Confidence, confidence);
      if (instance) label.Instances.push(instance);
      labels.set(name, label);
    };
    for (const object of objects) {
      const confidence = objectConfidence(object.score);
      if (confidence < min) continue;
      const parents = parentsOf(object.label);
      add(labelName(object.label), confidence, { BoundingBox: box(object.boxRaw), Confidence: confidence }, parents);
      parents.forEach((parent, i) => add(parent, confidence, null, parents.slice(i + 1)));
    }
    const sorted = [...labels.values()].sort((a, b) => b.Confidence - a.Confidence);
    return { Labels: request.MaxLabels !== undefined ? sorted.slice(0, request.MaxLabels) : sorted, LabelModelVersion };
  },

  async DetectModerationLabels(request) {
    const image = decodeImage(request.Image);
    const min = minConfidence(request, 50);
    const predictions = await pass(image, 'moderation');
    const found = new Map();
    for (const { className, probability } of predictions) {
      for (const label of Moderation[className] || []) {
        const confidence = Math.round(probability * 100000) / 1000;
        if (confidence >= min && confidence > (found.get(label.Name)?.Confidence ?? -1)) {
          found.set(label.Name, { Confidence: confidence, Name: label.Name, ParentName: label.ParentName, TaxonomyLevel: label.ParentName ? 2 : 1 });
        }
      }
    }
    return { ModerationLabels: [...found.values()].sort((a, b) => b.Confidence - a.Confidence), ModerationModelVersion };
  },
};

function send(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': crypto.randomUUID() });
  res.end(text);
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let length = 0;
    req.on('data', chunk => {
      length += chunk.length;
      if (length > maxRequestBytes) {
        reject(new RekognitionError(400, 'ImageTooLargeException', `The request is over ${maxRequestBytes} bytes.`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

async function handle(req, res) {
  if (req.method === 'GET' && (req.url === '/' || req.url === '/health')) {
    send(res, models ? 200 : 503, { status: models ? 'ready' : 'loading models' });
    return;
  }
  if (req.method !== 'POST' || req.url.split('?')[0] !== '/') throw new RekognitionError(404, 'UnknownOperationException', 'Not found.');
  const body = await readBody(req);
  const checked = sigv4.verify(req, { service: 'rekognition', secretOf: id => (id === accessKeyId ? secretAccessKey : undefined), body });
  if (checked.result === 'unsigned') throw new RekognitionError(400, 'MissingAuthenticationTokenException', 'Missing Authentication Token');
  if (checked.result === 'invalid') {
    throw checked.reason === 'unknown-key'
      ? new RekognitionError(400, 'UnrecognizedClientException', 'The security token included in the request is invalid.')
      : new RekognitionError(403, 'InvalidSignatureException', checked.message);
  }
  const target = String(req.headers['x-amz-target'] || '');
  const operation = target.startsWith('RekognitionService.') ? operations[target.slice('RekognitionService.'.length)] : undefined;
  if (!operation) throw new RekognitionError(400, 'UnknownOperationException', `The local Rekognition does not implement ${target || 'an operation without X-Amz-Target'}.`);
  let request;
  try {
    request = JSON.parse(body.toString('utf8') || '{}');
  } catch {
    throw new RekognitionError(400, 'SerializationException', 'The request body is not valid JSON.');
  }
  await ready;
  send(res, 200, await operation(request));
}

const server = http.createServer((req, res) => {
  handle(req, res).catch(err => {
    if (err instanceof RekognitionError) {
      send(res, err.status, { __type: err.type, Message: err.message });
    } else {
      console.error('rekognition: internal error', err);
      send(res, 500, { __type: 'InternalServerError', Message: String(err.message || err) });
    }
  });
});
server.listen(port, '127.0.0.1', () => console.log(`rekognition emulator listening on http://127.0.0.1:${server.address().port}`));
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

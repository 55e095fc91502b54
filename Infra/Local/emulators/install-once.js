// "npm ci" in this folder (or the folder given as the first argument), skipped when node_modules was installed
// from this very package-lock.json (a stamp holds its hash), so that starting the AppHost does not reinstall
// the emulators every time.
'use strict';
const { createHash } = require('node:crypto');
const { execSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const folder = path.resolve(process.argv[2] || __dirname);
const lock = fs.readFileSync(path.join(folder, 'package-lock.json'));
const hash = createHash('sha256').update(lock).digest('hex');
const stamp = path.join(folder, 'node_modules', '.installed-lock.sha256');
if (fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === hash) {
  console.log(`${folder}: already installed from this package-lock.json`);
  process.exit(0);
}
console.log(`${folder}: npm ci ...`);
execSync('npm ci --no-audit --no-fund', { cwd: folder, stdio: 'inherit' });
fs.writeFileSync(stamp, hash);
console.log(`${folder}: installed`);

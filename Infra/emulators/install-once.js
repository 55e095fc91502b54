// "npm ci", skipped when node_modules was installed from this very package-lock.json (a stamp holds its hash),
// so that starting the AppHost does not reinstall the emulators every time.
'use strict';
const { createHash } = require('node:crypto');
const { execSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const lock = fs.readFileSync(path.join(__dirname, 'package-lock.json'));
const hash = createHash('sha256').update(lock).digest('hex');
const stamp = path.join(__dirname, 'node_modules', '.installed-lock.sha256');
if (fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === hash) {
  console.log('emulators already installed from this package-lock.json');
  process.exit(0);
}
console.log('npm ci ...');
execSync('npm ci --no-audit --no-fund', { cwd: __dirname, stdio: 'inherit' });
fs.writeFileSync(stamp, hash);
console.log('emulators installed');

// Runs dynalite (DynamoDB) on PORT, keeping its LevelDB store in DYNAMODB_DATA_DIR (in memory if unset).
'use strict';
const dynalite = require('dynalite');

const port = Number(process.env.PORT || 8000);
const path = process.env.DYNAMODB_DATA_DIR || undefined;
const server = dynalite({ path, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
server.listen(port, '127.0.0.1', () => {
  console.log(`dynamodb emulator (dynalite 4.0.0) listening on http://127.0.0.1:${port}, data ${path ? 'in ' + path : 'in memory'}`);
});
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

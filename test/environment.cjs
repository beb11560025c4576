// Jest runs each test file in a vm context with its own globals. Objects made by the native addon,
// onnxruntime-node and Node's core come from the outer realm, so `instanceof Float32Array` or
// `toThrow(TypeError)` would fail across the boundary. Share the outer realm's constructors instead.
const { TestEnvironment } = require('jest-environment-node');

const SHARED = [
  'ArrayBuffer', 'SharedArrayBuffer', 'DataView', 'Uint8Array', 'Uint8ClampedArray', 'Int8Array',
  'Uint16Array', 'Int16Array', 'Uint32Array', 'Int32Array', 'Float32Array', 'Float64Array',
  'BigInt64Array', 'BigUint64Array', 'Error', 'TypeError', 'RangeError', 'SyntaxError', 'Buffer',
];

class RealmSharingEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const name of SHARED) this.global[name] = globalThis[name];
  }
}

module.exports = RealmSharingEnvironment;

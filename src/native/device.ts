// Where the native engine runs: 'cpu' (the default) or 'cuda' ('cuda:N' for the N-th GPU). The CLI's
// --device sets the process default; loadModel's `device` option overrides it per model.
import { addon } from './binding.js';

export type Device = 'cpu' | 'cuda' | `cuda:${number}`;

let defaultDevice: Device = 'cpu';

export function isDevice(d: unknown): d is Device {
  return d === 'cpu' || d === 'cuda' || (typeof d === 'string' && /^cuda:\d{1,3}$/.test(d));
}

/** Throws, saying why, when `device` cannot be used here (no CUDA build, no driver, no GPU). */
export function checkDevice(device: unknown, where = 'device'): Device {
  if (!isDevice(device)) throw new TypeError(`${where} must be 'cpu', 'cuda' or 'cuda:N', got ${JSON.stringify(device)}`);
  if (device !== 'cpu') {
    const status = addon().cudaStatus();
    if (!status.available) throw new Error(`${where} '${device}': ${status.reason}`);
  }
  return device;
}

export function setDefaultDevice(device: Device): void {
  defaultDevice = checkDevice(device, '--device');
}

export function getDefaultDevice(): Device {
  return defaultDevice;
}

// Optional dependencies: onnxruntime-node (288 MB) is an optional peer dependency, installed only by
// those who run an ONNX simulator. Code that needs it imports it through here, so a missing package
// is a message that says what to install, not a module-resolution stack trace.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** Whether `name` can be imported from rlcd. */
export function hasPackage(name: string): boolean {
  try {
    require.resolve(`${name}/package.json`);
    return true;
  } catch (e) {
    // Installed, with an exports map that does not list package.json.
    return (e as NodeJS.ErrnoException).code === 'ERR_PACKAGE_PATH_NOT_EXPORTED';
  }
}

/** What to run to add `name` (onnxruntime-node's installer downloads CUDA binaries unless told not to). */
export function installHint(name: string): string {
  return name === 'onnxruntime-node' ? 'npm install onnxruntime-node (ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node skips its CUDA download)' : `npm install ${name}`;
}

/** `load()`, or an error naming the missing optional package `name` that `feature` needs and how to install it. */
export async function importOptional<T>(load: () => Promise<T>, name: string, feature: string): Promise<T> {
  try {
    return await load();
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ERR_MODULE_NOT_FOUND' && err.message.includes(`'${name}'`)) {
      throw new Error(`${feature} needs ${name}, an optional dependency of rlcd that is not installed: ${installHint(name)}`);
    }
    throw e;
  }
}

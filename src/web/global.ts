/**
 * The package as a classic script (dist/web/pagewalk.js) defining the global `pagewalk`, for pages
 * that embed pagewalk without a bundler, including from file://. See docs/web.md.
 */
export { Machine } from '../core/machine.js';
export { PagewalkError } from '../core/errors.js';
export { parseImage, loadImage, saveImage, imageToJsonText, encodeBinaryImage } from '../loader/image.js';
export { machineFromImage } from '../loader/machine-from-image.js';
export { describeWalk, decodeErrorCode, outcomeString, splitAddress } from '../explain/describe.js';

/**
 * Entry of the web page (bundled by src/web/build.mjs into dist/web/app.js, a classic script so
 * that the page also works from file://). Starts the walk explainer, the image builder and the
 * fuzzer panel.
 */
import { startBuilder } from './builder-panel.js';
import { byId, setChildren } from './dom.js';
import { Explainer, messageOf } from './explainer.js';
import { startFuzzerPanel } from './fuzz-panel.js';

async function main(): Promise<void> {
  const explainer = new Explainer(__PW_EXAMPLES__);
  startBuilder(explainer);
  startFuzzerPanel(byId('fuzzer'));
  await explainer.start();
  document.body.dataset.ready = '1';
}

main().catch((e) => {
  setChildren(byId('image-error'), `the page failed to start: ${messageOf(e)}`);
  document.body.dataset.ready = 'error';
});

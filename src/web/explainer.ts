/**
 * The walk explainer panel: choose or load an image, type a query, see the walk. The machine is
 * kept between walks, so accessed/dirty bits set by one walk are visible in the next (Reset
 * reloads the image). Every walk updates the permalink in the URL hash.
 */
import { PagewalkError } from '../core/errors.js';
import type { AccessKind } from '../core/types.js';
import { describeWalk } from '../explain/describe.js';
import { hex } from '../loader/hex.js';
import { imageToJsonText, modeOfControl, parseImage, type PagewalkImage } from '../loader/image.js';
import { machineFromImage } from '../loader/machine-from-image.js';
import type { Machine } from '../core/machine.js';
import { byId, h, setChildren } from './dom.js';
import { decodePermalink, encodePermalink, type WalkQuery } from './permalink.js';
import { walkView } from './walk-view.js';
import { nestedView } from './nested-view.js';

/** The host a nested example is meant to be walked under (its description says so). */
const NESTED_EXAMPLES: Record<string, { kind: 'ept' | 'npt'; root: bigint }> = { 'nested-ept': { kind: 'ept', root: 0x1001en } };

/** Message of an error for the page: our own errors as they are, anything else with its name. */
export function messageOf(e: unknown): string {
  if (e instanceof PagewalkError) return e.message;
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

export class Explainer {
  private image: PagewalkImage | null = null;
  private imageJson = '';
  private example: string | null = null;
  private machine: Machine | null = null;
  private walks = 0;
  /** Serialises asynchronous loads and walks so that the UI never sees them interleave. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly examples: Record<string, unknown>) {}

  /** Wires the controls and loads the permalink in the hash, or the 4-level example. */
  start(): Promise<unknown> {
    byId<HTMLSelectElement>('mode').addEventListener('change', (e) => this.run(() => this.loadExample((e.target as HTMLSelectElement).value)));
    byId<HTMLInputElement>('image-file').addEventListener('change', (e) => this.run(() => this.loadFile((e.target as HTMLInputElement).files?.[0])));
    byId('image-apply').addEventListener('click', () => this.run(() => this.loadCustom(byId<HTMLTextAreaElement>('image-json').value)));
    byId('reset').addEventListener('click', () => this.run(() => this.reload()));
    byId('query').addEventListener('submit', (e) => {
      e.preventDefault();
      this.run(() => this.walk());
    });
    window.addEventListener('hashchange', () => {
      if (location.hash !== this.lastHash) this.run(() => this.fromHash(location.hash));
    });
    return this.run(() => this.fromHash(location.hash));
  }

  private lastHash = '';

  /** Runs one action after the previous ones, showing any error in the image error box. */
  run(action: () => Promise<void> | void): Promise<unknown> {
    this.pending++;
    document.body.dataset.busy = '1';
    this.queue = this.queue.then(async () => {
      setChildren(byId('image-error'));
      try {
        await action();
      } catch (e) {
        setChildren(byId('image-error'), messageOf(e));
      }
      if (--this.pending === 0) document.body.dataset.busy = '';
    });
    return this.queue;
  }

  /** Actions queued and not finished (`body[data-busy]` is set while there are any). */
  private pending = 0;

  private async fromHash(hash: string): Promise<void> {
    const p = decodePermalink(hash);
    if (p.imageJson) await this.loadCustom(p.imageJson);
    else await this.loadExample(p.example ?? '4level');
    if (p.query) {
      this.setQuery(p.query);
      await this.walk();
    }
  }

  async loadExample(name: string): Promise<void> {
    const json = this.examples[name];
    if (!json) throw new PagewalkError('EBAD_INPUT', `no example image named '${name}' (known: ${Object.keys(this.examples).join(', ')})`);
    await this.setImage(parseImage(json), name);
  }

  async loadCustom(text: string): Promise<void> {
    await this.setImage(parseImage(text), null);
  }

  private async loadFile(file: File | undefined): Promise<void> {
    if (!file) return;
    await this.setImage(parseImage(new Uint8Array(await file.arrayBuffer())), null);
  }

  /** Makes `image` current: a fresh machine, the info box, the editor, the query buttons. */
  async setImage(image: PagewalkImage, example: string | null): Promise<void> {
    const machine = await machineFromImage(image);
    this.image = image;
    this.example = example;
    this.machine = machine;
    this.imageJson = imageToJsonText(image);
    this.walks = 0;
    byId<HTMLSelectElement>('mode').value = example ?? 'custom';
    const host = example ? NESTED_EXAMPLES[example] : undefined;
    byId<HTMLSelectElement>('host').value = host?.kind ?? '';
    byId<HTMLInputElement>('host-root').value = host ? hex(host.root) : '';
    byId<HTMLTextAreaElement>('image-json').value = this.imageJson;
    this.showInfo();
    this.showQueries();
    setChildren(byId('walk-output'));
  }

  private async reload(): Promise<void> {
    if (!this.image) return;
    this.machine = await machineFromImage(this.image);
    this.walks = 0;
    this.showInfo();
    setChildren(byId('walk-output'), h('p', { class: 'muted' }, 'Memory reloaded from the image: every accessed/dirty bit is back to its loaded value.'));
  }

  private showInfo(): void {
    const img = this.image;
    if (!img) return;
    const mode = modeOfControl(img.control);
    setChildren(
      byId('image-info'),
      h('strong', {}, img.name ?? 'custom image'),
      ` · ${mode} · ${img.writes.length} writes · RAM ${hex(img.ramBytes)} · ${img.vendor} · MAXPHYADDR ${img.maxPhysAddrBits} · CR3 ${hex(img.control.cr3)}`,
      this.walks ? ` · ${this.walks} walk${this.walks > 1 ? 's' : ''} on this memory` : '',
      img.description ? h('p', { class: 'muted' }, img.description) : null,
    );
  }

  private showQueries(): void {
    const qs = this.image?.queries ?? [];
    setChildren(
      byId('queries'),
      ...qs.map((q, i) =>
        h(
          'button',
          { type: 'button', class: 'query', 'data-query': i, title: q.note ?? '', onclick: () => this.run(() => (this.setQuery(q), this.walk())) },
          h('span', { class: 'mono' }, hex(q.va)),
          ` ${q.kind} CPL${q.cpl}${q.ac ? ' AC' : ''}`,
          q.expect ? h('span', { class: 'expect' }, ` → ${q.expect}`) : null,
        ),
      ),
    );
  }

  private setQuery(q: WalkQuery): void {
    byId<HTMLInputElement>('va').value = hex(q.va);
    byId<HTMLSelectElement>('kind').value = q.kind;
    byId<HTMLSelectElement>('cpl').value = String(q.cpl);
    byId<HTMLInputElement>('ac').checked = q.ac;
    byId<HTMLInputElement>('implicit').checked = q.implicit;
    if (q.host) {
      byId<HTMLSelectElement>('host').value = q.host.kind;
      byId<HTMLInputElement>('host-root').value = hex(q.host.root);
    }
  }

  private readQuery(): WalkQuery {
    const vaText = byId<HTMLInputElement>('va').value.trim().replace(/_/g, '');
    if (!/^(0x[0-9a-f]+|\d+)$/i.test(vaText) || BigInt(vaText) >= 1n << 64n)
      throw new PagewalkError('EBAD_INPUT', `virtual address: ${JSON.stringify(vaText)} is not a 64-bit address like 0x7fff0000`);
    const kind = byId<HTMLSelectElement>('host').value as '' | 'ept' | 'npt';
    let host: WalkQuery['host'];
    if (kind) {
      const rootText = byId<HTMLInputElement>('host-root').value.trim().replace(/_/g, '');
      if (!/^0x[0-9a-f]+$/i.test(rootText) || BigInt(rootText) >= 1n << 64n)
        throw new PagewalkError('EBAD_INPUT', `${kind === 'ept' ? 'EPTP' : 'nested CR3'}: ${JSON.stringify(rootText)} is not a 64-bit hex value like 0x1001e`);
      host = { kind, root: BigInt(rootText) };
    }
    return {
      va: BigInt(vaText),
      kind: byId<HTMLSelectElement>('kind').value as AccessKind,
      cpl: Number(byId<HTMLSelectElement>('cpl').value) as WalkQuery['cpl'],
      ac: byId<HTMLInputElement>('ac').checked,
      implicit: byId<HTMLInputElement>('implicit').checked,
      ...(host ? { host } : {}),
    };
  }

  /** Explains the query in the form on the current machine and updates the permalink. */
  private walk(): void {
    if (!this.machine) return;
    const q = this.readQuery();
    const cpu = this.machine.cpus[0];
    const opts = { kind: q.kind, cpl: q.cpl, ac: q.ac, implicit: q.implicit };
    if (q.host) {
      cpu.setNested(q.host.kind === 'ept' ? { kind: 'ept', eptp: q.host.root } : { kind: 'npt', ncr3: q.host.root });
      const x = cpu.nestedExplain(q.va, opts);
      cpu.setNested(null);
      this.walks++;
      this.showInfo();
      setChildren(byId('walk-output'), nestedView(x));
    } else {
      const e = cpu.explain(q.va, opts);
      this.walks++;
      this.showInfo();
      const notes = new Map((this.image?.writes ?? []).filter((w) => w.note).map((w) => [hex(w.pa), w.note as string]));
      setChildren(byId('walk-output'), walkView(describeWalk(e, this.image ?? undefined), notes));
    }
    const hash = encodePermalink({ example: this.example ?? undefined, imageJson: this.example ? undefined : this.imageJson, query: q });
    this.lastHash = hash;
    history.replaceState(null, '', hash);
    byId<HTMLAnchorElement>('permalink').href = hash;
  }
}

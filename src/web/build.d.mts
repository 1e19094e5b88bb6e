/** Builds the web page into `outDir` (default dist/web); importing the module builds it once. */
export function buildWeb(outDir?: string): Promise<string>;

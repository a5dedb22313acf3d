/**
 * What a 1400 x 900 browser window shows of the workspace at zoom 1, below the header and tabs and
 * between the palette and the sidebar, both open: the examples are laid out to fit it
 * (test/unit/examples-layout.test.ts), and the browser test measures it in chromium.
 */
export const VIEW = { width: 880, height: 780 };

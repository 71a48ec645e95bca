/**
 * Flags for headless Chromium in tests, shared by tests/helpers/browser.ts and the BROWSER stand-in
 * tests/helpers/consent-browser.mjs (plain JavaScript, so this file is too): no sandbox (root in CI), no GPU, and no
 * background traffic to Google (updates, sync, QUIC probes) on a machine without internet.
 */
export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-quic",
];

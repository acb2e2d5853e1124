// What the VS Code webview host gives attestation.js (type-checked by media/tsconfig.json; not shipped).
interface VsCodeWebviewApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeWebviewApi;

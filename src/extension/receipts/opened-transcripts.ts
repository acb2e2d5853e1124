/**
 * The transcripts opened in this window, by document URI, with what *Save Transcript with Receipt* needs; and the
 * context key that shows the editor title's button exactly while the active editor is one of them. One per window,
 * owned by `Ctx`.
 */
import * as vscode from 'vscode';
import type { TranscriptReceipt } from '../../core/transport/transcribe.js';
import type { TranscriptFormat } from '../../protocol/transcript.js';
import type { DocumentFormat } from '../settings/model.js';

/** A transcript opened in this window, with what is needed to save it with its receipt. */
export interface ShownTranscript {
  readonly audio: vscode.Uri;
  /** The server's answer, exactly the bytes the receipt binds. */
  readonly body: string;
  readonly wire: TranscriptFormat;
  readonly documentFormat: DocumentFormat;
  readonly receipt: TranscriptReceipt;
}

/** The oldest are forgotten past this many. */
const REMEMBERED = 50;

/** The context key that shows the editor title's *Save Transcript with Receipt* button. */
const CONTEXT_KEY = 'blindbox.transcriptWithReceipt';

/** Read-only documents holding the text an enclave signed (`blindbox-signed:/<n>/<name>`), for *Compare with the signed text*. */
const SIGNED_SCHEME = 'blindbox-signed';

export class OpenedTranscripts implements vscode.Disposable {
  readonly #shown = new Map<string, ShownTranscript>();
  /** Streamed documents whose receipt did not verify, by URI: why, for *Save with Receipt* to refuse them in words. */
  readonly #refused = new Map<string, string>();
  readonly #listener = vscode.window.onDidChangeActiveTextEditor((editor) => this.#updateContext(editor));
  readonly #signed = vscode.workspace.registerTextDocumentContentProvider(SIGNED_SCHEME, {
    provideTextDocumentContent: (uri) => [...this.#shown.values()].find((t) => String(this.#ids.get(t)) === uri.path.split('/')[1])?.body,
  });
  /** A stable number for each transcript remembered, naming its signed-text document. */
  readonly #ids = new WeakMap<ShownTranscript, number>();
  #nextId = 0;

  /** Remembers `transcript` as the content of the document `uri`. */
  remember(uri: vscode.Uri, transcript: ShownTranscript): void {
    this.#shown.set(uri.toString(), transcript);
    this.#ids.set(transcript, this.#nextId++);
    if (this.#shown.size > REMEMBERED) this.#shown.delete(this.#shown.keys().next().value!);
    this.#updateContext(vscode.window.activeTextEditor);
  }

  /** The streamed document `uri` shows text no receipt covers (`why`, one sentence): never saved with a receipt. */
  refuse(uri: vscode.Uri, why: string): void {
    this.#shown.delete(uri.toString());
    this.#refused.set(uri.toString(), why);
    if (this.#refused.size > REMEMBERED) this.#refused.delete(this.#refused.keys().next().value!);
    this.#updateContext(vscode.window.activeTextEditor);
  }

  /** Why the document in `editor` has no receipt, if it is a streamed one that was refused. */
  refusal(editor: vscode.TextEditor | undefined): string | undefined {
    return editor ? this.#refused.get(editor.document.uri.toString()) : undefined;
  }

  /** The transcript shown in `editor`, if it is one made in this window. */
  in(editor: vscode.TextEditor | undefined): ShownTranscript | undefined {
    return editor ? this.#shown.get(editor.document.uri.toString()) : undefined;
  }

  /**
   * A read-only document holding the server's answer whose receipt binds `transcriptSha256`, if a transcript of this
   * window has it; named `name`.
   */
  signedText(transcriptSha256: string, name: string): vscode.Uri | undefined {
    const found = [...this.#shown.values()].find((t) => t.receipt.verified.content.transcriptSha256 === transcriptSha256);
    return found ? vscode.Uri.from({ scheme: SIGNED_SCHEME, path: `/${this.#ids.get(found)}/${name}` }) : undefined;
  }

  #updateContext(editor: vscode.TextEditor | undefined): void {
    void vscode.commands.executeCommand('setContext', CONTEXT_KEY, this.in(editor) !== undefined);
  }

  dispose(): void {
    this.#listener.dispose();
    this.#signed.dispose();
  }
}

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

export class OpenedTranscripts implements vscode.Disposable {
  readonly #shown = new Map<string, ShownTranscript>();
  readonly #listener = vscode.window.onDidChangeActiveTextEditor((editor) => this.#updateContext(editor));

  /** Remembers `transcript` as the content of the document `uri`. */
  remember(uri: vscode.Uri, transcript: ShownTranscript): void {
    this.#shown.set(uri.toString(), transcript);
    if (this.#shown.size > REMEMBERED) this.#shown.delete(this.#shown.keys().next().value!);
    this.#updateContext(vscode.window.activeTextEditor);
  }

  /** The transcript shown in `editor`, if it is one made in this window. */
  in(editor: vscode.TextEditor | undefined): ShownTranscript | undefined {
    return editor ? this.#shown.get(editor.document.uri.toString()) : undefined;
  }

  #updateContext(editor: vscode.TextEditor | undefined): void {
    void vscode.commands.executeCommand('setContext', CONTEXT_KEY, this.in(editor) !== undefined);
  }

  dispose(): void {
    this.#listener.dispose();
  }
}

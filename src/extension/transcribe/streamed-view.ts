/**
 * The vscode face of a streamed transcript document (streamed-document.ts renders it): opened at the first segment,
 * each later segment appended at its end, then, once the receipt verified, replaced once by the finished document;
 * or its top line replaced by the reason it is not verified. Edits run one after another, in the order they came.
 */
import * as vscode from 'vscode';
import type { StreamedSegment } from '../../core/transport/transcribe-stream.js';
import type { DocumentFormat } from '../settings/model.js';
import type { TranscriptDocument } from './document.js';
import type { StreamedState } from './streamed-document.js';

/** The pure renderings the view writes (the services' `streamed`). */
export interface StreamedRendering {
  streamedStart(format: DocumentFormat, first: StreamedSegment): string;
  streamedPiece(format: DocumentFormat, segment: StreamedSegment): string;
  streamedStatusLine(format: DocumentFormat, state: StreamedState): string;
}

export class StreamedTranscriptView {
  #document: vscode.TextDocument | undefined;
  #edits: Promise<void> = Promise.resolve();
  readonly #format: DocumentFormat;
  readonly #render: StreamedRendering;
  readonly #open: (content: string) => Promise<vscode.TextDocument>;
  readonly #log: (line: string) => void;

  /** `open` makes and shows the document with its first content (the caller names it and sets its language). */
  constructor(format: DocumentFormat, render: StreamedRendering, open: (content: string) => Promise<vscode.TextDocument>, log: (line: string) => void) {
    this.#format = format;
    this.#render = render;
    this.#open = open;
    this.#log = log;
  }

  /** The segment shown: the document opened with it, or it appended. */
  segment(segment: StreamedSegment): void {
    this.#then(async () => {
      if (!this.#document) {
        this.#document = await this.#open(this.#render.streamedStart(this.#format, segment));
        return;
      }
      const doc = this.#document;
      const edit = new vscode.WorkspaceEdit();
      edit.insert(doc.uri, doc.lineAt(doc.lineCount - 1).range.end, this.#render.streamedPiece(this.#format, segment));
      await vscode.workspace.applyEdit(edit);
    });
  }

  /** The receipt verified: the document becomes `finished` (one edit), and is returned; undefined when no segment came (nothing opened). */
  async verified(finished: TranscriptDocument): Promise<vscode.TextDocument | undefined> {
    await this.#edits;
    const doc = this.#document;
    if (!doc) return undefined;
    const edit = new vscode.WorkspaceEdit();
    edit.replace(doc.uri, new vscode.Range(new vscode.Position(0, 0), doc.lineAt(doc.lineCount - 1).range.end), finished.content);
    await vscode.workspace.applyEdit(edit);
    return doc;
  }

  /** Not verified (refused, cut, cancelled): the top line says so; the text stays, as the user has seen it. Undefined when nothing opened. */
  async unverified(state: StreamedState): Promise<vscode.Uri | undefined> {
    this.#then(async () => {
      const doc = this.#document;
      if (!doc) return;
      const edit = new vscode.WorkspaceEdit();
      edit.replace(doc.uri, doc.lineAt(0).range, this.#render.streamedStatusLine(this.#format, state));
      await vscode.workspace.applyEdit(edit);
    });
    await this.#edits;
    return this.#document?.uri;
  }

  #then(step: () => Promise<void>): void {
    this.#edits = this.#edits.then(step).catch((err: unknown) => this.#log(`the streamed transcript document could not be updated: ${err instanceof Error ? err.message : String(err)}`));
  }
}

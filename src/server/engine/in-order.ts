/**
 * Results that come in any order, handed on in the order their places were taken: the pieces of one recording
 * finish on different workers or servers, and a streamed transcript must still be told from its start. A place may
 * be filled in several parts (a piece told utterance by utterance): the parts of the first open place go on at once.
 */
export class InOrder<T> {
  readonly #places: { readonly parts: T[]; ended: boolean }[] = [];
  readonly #consume: (value: T) => void;

  /** `consume` gets each value once every place before its own has ended. */
  constructor(consume: (value: T) => void) {
    this.#consume = consume;
  }

  /** Takes the next place: `push` adds a part to it, `end` closes it (later calls do nothing). */
  reserve(): { push(value: T): void; end(): void } {
    const place = { parts: [] as T[], ended: false };
    this.#places.push(place);
    return {
      push: (value) => {
        if (place.ended) return;
        place.parts.push(value);
        this.#flush();
      },
      end: () => {
        place.ended = true;
        this.#flush();
      },
    };
  }

  /** Takes the next place, fills it with `value` and closes it. */
  add(value: T): void {
    const place = this.reserve();
    place.push(value);
    place.end();
  }

  #flush(): void {
    for (let head = this.#places[0]; head; head = this.#places[0]) {
      for (const part of head.parts.splice(0)) this.#consume(part);
      if (!head.ended) return;
      this.#places.shift();
    }
  }
}

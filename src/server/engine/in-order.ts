/**
 * Results that come in any order, handed on in the order their places were taken: the pieces of one recording
 * finish on different workers or servers, and a streamed transcript must still be told from its start.
 */
export class InOrder<T> {
  readonly #slots: { value?: T; filled: boolean }[] = [];
  readonly #consume: (value: T) => void;

  /** `consume` gets each value once every place before it has been filled. */
  constructor(consume: (value: T) => void) {
    this.#consume = consume;
  }

  /** Takes the next place; the function fills it (a second call does nothing). */
  reserve(): (value: T) => void {
    const slot: { value?: T; filled: boolean } = { filled: false };
    this.#slots.push(slot);
    return (value) => {
      if (slot.filled) return;
      slot.value = value;
      slot.filled = true;
      this.#flush();
    };
  }

  /** Takes the next place and fills it at once. */
  add(value: T): void {
    this.reserve()(value);
  }

  #flush(): void {
    while (this.#slots[0]?.filled) this.#consume(this.#slots.shift()!.value as T);
  }
}

/** A stack of things to release, so a failed load can close everything it made, newest first. */
export class Resources {
  #items: { [Symbol.dispose](): void }[] = [];

  /** Track `item`; returns it for chaining. */
  add<T extends { [Symbol.dispose](): void }>(item: T): T {
    this.#items.push(item);
    return item;
  }

  /** Release everything tracked, newest first. Errors are collected and the first one rethrown. */
  dispose(): void {
    const errors: unknown[] = [];
    for (const item of this.#items.splice(0).reverse()) {
      try {
        item[Symbol.dispose]();
      } catch (e) {
        errors.push(e);
      }
    }
    if (errors.length) throw errors[0];
  }
}

import type { Edge, PageInfo } from './connection.ts';
import type { CursorCodec, KeyValue } from './cursor.ts';

// `console.log` shows accessors as `[Getter/Setter]`; this shows the values, as before.
const inspect = Symbol.for('nodejs.util.inspect.custom');

/**
 * An edge whose cursor is made when first read, then kept: a MAC per edge is most of a page's
 * JS, and many clients read only `pageInfo.endCursor`. `cursor` is an own enumerable accessor,
 * so spreading, `JSON.stringify` and `structuredClone` see it as before, and assigning it
 * replaces it. One accessor pair shared by every edge keeps edges one hidden class.
 */
export class LazyEdge<T> implements Edge<T> {
  static readonly #cursor: PropertyDescriptor = {
    get(this: LazyEdge<unknown>): string {
      if (this.#made === undefined) this.#made = this.#codec.encode(this.#binding, this.#position);
      return this.#made;
    },
    set(this: LazyEdge<unknown>, value: string) {
      this.#made = value;
    },
    enumerable: true,
    configurable: true,
  };

  node: T;
  declare cursor: string;
  readonly #codec: CursorCodec;
  readonly #binding: Buffer;
  readonly #position: readonly KeyValue[];
  #made: string | undefined;

  constructor(codec: CursorCodec, binding: Buffer, node: T, position: readonly KeyValue[]) {
    this.node = node;
    Object.defineProperty(this, 'cursor', LazyEdge.#cursor);
    this.#codec = codec;
    this.#binding = binding;
    this.#position = position;
  }

  [inspect](): Edge<T> {
    return { node: this.node, cursor: this.cursor };
  }
}

/** `pageInfo` whose start and end cursors are the first and last edge's, read (and made) on demand. */
class LazyPageInfo implements PageInfo {
  static readonly #cursors: PropertyDescriptorMap = {
    startCursor: {
      get(this: LazyPageInfo): string | null {
        return this.#start === undefined ? (this.#first?.cursor ?? null) : this.#start;
      },
      set(this: LazyPageInfo, value: string | null) {
        this.#start = value;
      },
      enumerable: true,
      configurable: true,
    },
    endCursor: {
      get(this: LazyPageInfo): string | null {
        return this.#end === undefined ? (this.#last?.cursor ?? null) : this.#end;
      },
      set(this: LazyPageInfo, value: string | null) {
        this.#end = value;
      },
      enumerable: true,
      configurable: true,
    },
  };

  hasNextPage: boolean;
  hasPreviousPage: boolean;
  declare startCursor: string | null;
  declare endCursor: string | null;
  readonly #first: Edge<unknown> | undefined;
  readonly #last: Edge<unknown> | undefined;
  #start: string | null | undefined;
  #end: string | null | undefined;

  constructor(
    hasNextPage: boolean,
    hasPreviousPage: boolean,
    first: Edge<unknown> | undefined,
    last: Edge<unknown> | undefined,
  ) {
    this.hasNextPage = hasNextPage;
    this.hasPreviousPage = hasPreviousPage;
    Object.defineProperties(this, LazyPageInfo.#cursors);
    this.#first = first;
    this.#last = last;
  }

  [inspect](): PageInfo {
    const { hasNextPage, hasPreviousPage, startCursor, endCursor } = this;
    return { hasNextPage, hasPreviousPage, startCursor, endCursor };
  }
}

export function lazyPageInfo<T>(
  hasNextPage: boolean,
  hasPreviousPage: boolean,
  first: Edge<T> | undefined,
  last: Edge<T> | undefined,
): PageInfo {
  return new LazyPageInfo(hasNextPage, hasPreviousPage, first, last);
}

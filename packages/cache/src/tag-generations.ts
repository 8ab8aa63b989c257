import type { CacheEntry, LocalHit } from './types.ts';

// Tag generations remembered by one instance.
const MAX_KNOWN_TAGS = 100_000;

/**
 * Tag → highest generation seen here. An entry stored with an older generation of one of its
 * tags was invalidated (`deleteByTag` bumps the generation: O(1), no key scan).
 */
export class TagGenerations {
  private readonly gens = new Map<string, number>();
  /**
   * L1 copies confirmed before this moment are not trusted: set when tag generations had to be
   * forgotten (the map is bounded), since a forgotten bump could otherwise make an invalidated
   * copy look valid again.
   */
  private trustedFrom = 0;

  constructor(private readonly now: () => number) {}

  generation(tag: string): number {
    return this.gens.get(tag) ?? 0;
  }

  /**
   * Records a tag's generation (learnt from L2 or the bus, or bumped here); the map is bounded
   * (tags can be per user, bumped for ever).
   */
  set(tag: string, gen: number): void {
    this.gens.delete(tag);
    this.gens.set(tag, gen);
    if (this.gens.size <= MAX_KNOWN_TAGS) return;
    // Forget the least recently bumped tenth, and stop trusting every L1 copy confirmed before
    // now: each is re-checked (against L2, or refetched) before it is served again.
    let drop = Math.ceil(MAX_KNOWN_TAGS / 10);
    for (const known of this.gens.keys()) {
      if (drop-- <= 0) break;
      this.gens.delete(known);
    }
    this.trustedFrom = this.now();
  }

  /** Records `gen` if it is newer than what is known (generations only grow). */
  learn(tag: string, gen: number): void {
    if (gen > this.generation(tag)) this.set(tag, gen);
  }

  /**
   * Whether an L1 copy may be served as far as tags go: confirmed after generations were last
   * forgotten, and no tag bumped since it was fetched. One call on the L1 hit path.
   */
  trusts(hit: LocalHit): boolean {
    return hit.verifiedAt > this.trustedFrom && this.valid(hit.entry);
  }

  /** Valid unless a tag was bumped after the entry was fetched. */
  valid(entry: CacheEntry): boolean {
    for (const [tag, gen] of entry.tags) if (this.generation(tag) > gen) return false;
    return true;
  }
}

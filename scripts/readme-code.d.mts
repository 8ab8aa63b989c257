export interface ReadmeBlock {
  /** The README it comes from. */
  file: string;
  /** 1-based line of its opening fence. */
  line: number;
  /** Marked ```` ```ts partial ````: deliberately incomplete, not checked. */
  partial: boolean;
  /** The code, without the fence and the fence's indentation. */
  code: string;
}

export interface CheckedBlock extends ReadmeBlock {
  /** Where the block was written for the typecheck. */
  path: string;
  /** Filled in by `typecheckBlocks`: `README.md:line:column TS1234: message`. */
  errors: string[];
}

export function extractBlocks(text: string, file: string): ReadmeBlock[];
export function structureProblems(text: string, name: string): string[];
export function typecheckBlocks(blocks: CheckedBlock[], root: string): Promise<string[]>;

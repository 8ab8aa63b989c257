import unhomoglyph from 'unhomoglyph';

// Look-alikes among lowercase ASCII that Unicode's table leaves out, because it maps single
// characters and these are pairs the other way round (`m` → `rn` is in it; `w` → `vv` is not).
// Applied after the table, on lowercase text.
const ASCII_EXTRAS: ReadonlyArray<readonly [RegExp, string]> = [[/w/g, 'vv']];

/**
 * The UTS #39 confusable skeleton of `text`, for case-insensitive identifiers: two strings that
 * look alike (`rn` / `m`, `vv` / `w`, `0` / `o`, `1` / `l`, Cyrillic `а` / Latin `a`) have the
 * same skeleton. It is a comparison key, not text to show anyone.
 *
 * `lowercase(NFD(map(NFD(lowercase(text)))))`, where `map` is Unicode's confusables table
 * (confusables.txt 13.0.0, through `unhomoglyph`), lowercasing on both sides because the table
 * maps to either case (`0` → `O`), plus the ASCII pairs above.
 *
 * @example
 * confusableSkeleton('rnallory') === confusableSkeleton('mallory'); // true
 * confusableSkeleton('аdmin') === confusableSkeleton('admin'); // true (Cyrillic а)
 */
export function confusableSkeleton(text: string): string {
  let skeleton = unhomoglyph(text.toLowerCase().normalize('NFD')).normalize('NFD').toLowerCase();
  for (const [pattern, replacement] of ASCII_EXTRAS) skeleton = skeleton.replace(pattern, replacement);
  return skeleton;
}

/** Distinct emoji one message carries at most; one more is refused with REACTION_LIMIT_REACHED. */
export const MAX_DISTINCT_REACTIONS = 20;

// Built at run time: the `v` flag (Unicode sets, for \p{RGI_Emoji}) is newer than the compile target.
const ONE_EMOJI = new RegExp('^\\p{RGI_Emoji}$', 'v');

/** A reaction is exactly one emoji as Unicode recommends it (a flag, a skin tone or a family is one): not text, not two emoji. */
export const isReaction = (s: string): boolean => s.length <= 32 && ONE_EMOJI.test(s);

/** How many reacted with one emoji. */
export interface ReactionCount {
  readonly emoji: string;
  readonly count: number;
}

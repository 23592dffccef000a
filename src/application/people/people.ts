import type { Blocks } from './blocks.js';
import type { Directory } from './directory.js';
import type { Moderation } from './moderation.js';
import type { ReportMessage } from './report-message.js';
import type { UpdateProfile } from './update-profile.js';

/** People and safety: what the gateway's people routes drive (docs/API.md, "People"). */
export interface People {
  readonly directory: Directory;
  readonly updateProfile: UpdateProfile;
  readonly blocks: Blocks;
  readonly reportMessage: ReportMessage;
  readonly moderation: Moderation;
}

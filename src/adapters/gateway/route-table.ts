import type { ManageWebhooks } from '../../application/webhooks/manage-webhooks.js';
import type { People } from '../../application/people/people.js';
import type { UseCases } from '../../application/use-cases.js';
import { peopleRoutes } from './people-routes.js';
import { restRoutes, type Route } from './rest-routes.js';
import { webhookRoutes } from './webhook-routes.js';
import { passwordResetRoutes } from './password-reset-routes.js';
import { conversationFeatureRoutes } from './conversation-feature-routes.js';
import type { FileStorage } from '../../application/ports/uploads.js';
import { fileRoutes } from './file-routes.js';

/**
 * Every REST route the server serves: the one table the documents, the fuzz and the docs' checks are held to.
 * `files` is where downloads are read from (absent where the table is only described).
 */
export const routeTable = (useCases: UseCases, webhooks: ManageWebhooks, people: People, files: FileStorage | null = null): Route[] => [
  ...restRoutes(useCases),
  ...passwordResetRoutes(useCases),
  ...conversationFeatureRoutes(useCases),
  ...webhookRoutes(webhooks),
  ...peopleRoutes(people),
  ...fileRoutes(useCases, files),
];

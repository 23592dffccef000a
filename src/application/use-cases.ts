import type { AddParticipant } from './use-cases/add-participant.js';
import type { Authenticate } from './use-cases/authenticate.js';
import type { CreateConversation } from './use-cases/create-conversation.js';
import type { DeleteAccount } from './use-cases/delete-account.js';
import type { DeleteMessage } from './use-cases/delete-message.js';
import type { EditMessage } from './use-cases/edit-message.js';
import type { GetConversation } from './use-cases/get-conversation.js';
import type { GetMessages } from './use-cases/get-messages.js';
import type { JoinConversation } from './use-cases/join-conversation.js';
import type { LeaveConversation } from './use-cases/leave-conversation.js';
import type { ListConversations } from './use-cases/list-conversations.js';
import type { ListParticipants } from './use-cases/list-participants.js';
import type { LogIn } from './use-cases/log-in.js';
import type { MarkRead } from './use-cases/mark-read.js';
import type { OpenConnection } from './use-cases/open-connection.js';
import type { RegisterUser } from './use-cases/register-user.js';
import type { RemoveParticipant } from './use-cases/remove-participant.js';
import type { SendMessage } from './use-cases/send-message.js';
import type { SendTyping } from './use-cases/send-typing.js';

import type { ChangePassword } from './use-cases/change-password.js';
import type { LogOut } from './use-cases/end-session.js';
import type { ListSessions, RevokeSession } from './use-cases/manage-sessions.js';
import type { RefreshSession } from './use-cases/refresh-session.js';
import type { MuteConversation } from './use-cases/mute-conversation.js';
import type { PushPublicKey, SubscribePush, UnsubscribePush } from './use-cases/push-subscriptions.js';

/** Everything a transport drives. */
export interface UseCases {
  readonly registerUser: RegisterUser;
  readonly logIn: LogIn;
  readonly authenticate: Authenticate;
  readonly refreshSession: RefreshSession;
  readonly logOut: LogOut;
  readonly listSessions: ListSessions;
  readonly revokeSession: RevokeSession;
  readonly changePassword: ChangePassword;
  readonly deleteAccount: DeleteAccount;
  readonly openConnection: OpenConnection;
  readonly createConversation: CreateConversation;
  readonly getConversation: GetConversation;
  readonly listConversations: ListConversations;
  readonly listParticipants: ListParticipants;
  readonly addParticipant: AddParticipant;
  readonly removeParticipant: RemoveParticipant;
  readonly joinConversation: JoinConversation;
  readonly leaveConversation: LeaveConversation;
  readonly sendMessage: SendMessage;
  readonly editMessage: EditMessage;
  readonly deleteMessage: DeleteMessage;
  readonly getMessages: GetMessages;
  readonly markRead: MarkRead;
  readonly sendTyping: SendTyping;
  readonly pushPublicKey: PushPublicKey;
  readonly subscribePush: SubscribePush;
  readonly unsubscribePush: UnsubscribePush;
  readonly muteConversation: MuteConversation;
}

// The browser client's files as file imports: `bun build --compile` embeds each in the executable;
// under `bun run` an import is the file's path on disk. Plain JavaScript (typed by
// client-assets.d.ts) because TypeScript does not know `with { type: "file" }`.
import apiJs from "../../../client/api.js" with { type: "file" };
import appJs from "../../../client/app.js" with { type: "file" };
import chatSessionJs from "../../../client/chat-session.js" with { type: "file" };
import composerJs from "../../../client/composer.js" with { type: "file" };
import connectionIndicatorJs from "../../../client/connection-indicator.js" with { type: "file" };
import connectionJs from "../../../client/connection.js" with { type: "file" };
import conversationListJs from "../../../client/conversation-list.js" with { type: "file" };
import conversationJs from "../../../client/conversation.js" with { type: "file" };
import drawBatchJs from "../../../client/draw-batch.js" with { type: "file" };
import editMenuJs from "../../../client/edit-menu.js" with { type: "file" };
import formatJs from "../../../client/format.js" with { type: "file" };
import frameRouterJs from "../../../client/frame-router.js" with { type: "file" };
import groupReadsJs from "../../../client/group-reads.js" with { type: "file" };
import groupsJs from "../../../client/groups.js" with { type: "file" };
import incomingMessagesJs from "../../../client/incoming-messages.js" with { type: "file" };
import indexHtml from "../../../client/index.html" with { type: "file" };
import liveStatusJs from "../../../client/live-status.js" with { type: "file" };
import loadedConversationsJs from "../../../client/loaded-conversations.js" with { type: "file" };
import membersDialogJs from "../../../client/members-dialog.js" with { type: "file" };
import messageEditsJs from "../../../client/message-edits.js" with { type: "file" };
import messageViewJs from "../../../client/message-view.js" with { type: "file" };
import newGroupDialogJs from "../../../client/new-group-dialog.js" with { type: "file" };
import openConversationJs from "../../../client/open-conversation.js" with { type: "file" };
import outboxJs from "../../../client/outbox.js" with { type: "file" };
import peerListJs from "../../../client/peer-list.js" with { type: "file" };
import positionsJs from "../../../client/positions.js" with { type: "file" };
import receiptsJs from "../../../client/receipts.js" with { type: "file" };
import replayJs from "../../../client/replay.js" with { type: "file" };
import storageJs from "../../../client/storage.js" with { type: "file" };
import styleCss from "../../../client/style.css" with { type: "file" };
import unreadBadgesJs from "../../../client/unread-badges.js" with { type: "file" };


/** File name → path (on disk, or inside the executable). */
export const CLIENT_FILES = {
  "api.js": apiJs,
  "app.js": appJs,
  "chat-session.js": chatSessionJs,
  "composer.js": composerJs,
  "connection-indicator.js": connectionIndicatorJs,
  "connection.js": connectionJs,
  "conversation-list.js": conversationListJs,
  "conversation.js": conversationJs,
  "draw-batch.js": drawBatchJs,
  "edit-menu.js": editMenuJs,
  "format.js": formatJs,
  "frame-router.js": frameRouterJs,
  "group-reads.js": groupReadsJs,
  "groups.js": groupsJs,
  "incoming-messages.js": incomingMessagesJs,
  "index.html": indexHtml,
  "live-status.js": liveStatusJs,
  "loaded-conversations.js": loadedConversationsJs,
  "members-dialog.js": membersDialogJs,
  "message-edits.js": messageEditsJs,
  "message-view.js": messageViewJs,
  "new-group-dialog.js": newGroupDialogJs,
  "open-conversation.js": openConversationJs,
  "outbox.js": outboxJs,
  "peer-list.js": peerListJs,
  "positions.js": positionsJs,
  "receipts.js": receiptsJs,
  "replay.js": replayJs,
  "storage.js": storageJs,
  "style.css": styleCss,
  "unread-badges.js": unreadBadgesJs,
};

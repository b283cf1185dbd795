// Recall, edit and delete-for-me against a standalone instance (the suite in test/support/edit-behaviour.ts).
import { describeEdits, EDIT_ENV } from "./support/edit-behaviour.ts";
import { standaloneTarget } from "./support/target.ts";

describeEdits("standalone recall, edit and delete", () => standaloneTarget(EDIT_ENV));

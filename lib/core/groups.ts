// Groups: named sets of users a message can be sent to (communicationType 2), and system broadcasts.

export interface Group {
  groupId: string;
  name: string;
  ownerId: string;
}

export interface GroupStore {
  create(group: Group, members: readonly string[]): Promise<void>;
  get(groupId: string): Promise<Group | undefined>;
  /** Member ids; read from the store on every call (membership changes apply to the next message). */
  members(groupId: string): Promise<string[]>;
  addMembers(groupId: string, userIds: readonly string[]): Promise<void>;
  removeMembers(groupId: string, userIds: readonly string[]): Promise<void>;
  /** Groups `userId` belongs to. */
  groupsOf(userId: string): Promise<Group[]>;
}

/** The browser client's files: name → path (on disk, or inside the executable). */
export const CLIENT_FILES: Readonly<Record<string, string>>;

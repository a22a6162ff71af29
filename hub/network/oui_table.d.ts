/** The IEEE OUI registry from the pinned `oui-data` package: `AABBCC` → vendor and address lines. */
export declare function loadOuiTable(): Promise<Record<string, string>>;

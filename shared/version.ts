/** The version of both programs; they are built and released together. */
export const VERSION = "0.1.0";

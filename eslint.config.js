// @ts-check
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", "coverage/"] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/restrict-template-expressions": ["error", { allowNumber: true }],
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
      "@typescript-eslint/no-confusing-void-expression": ["error", { ignoreArrowShorthand: true }],
    },
  },
  {
    // The core is pure: no I/O, no global clock, no adapters.
    files: ["src/core/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              group: ["node:*", "fs", "net", "http", "https", "mqtt", "pino"],
              message: "src/core does no I/O.",
            },
            { group: ["../*"], message: "src/core imports nothing outside the core." },
          ],
        },
      ],
      "no-restricted-properties": [
        "error",
        { object: "Date", property: "now", message: "The core takes time as a parameter." },
        { object: "performance", property: "now", message: "The core takes time as a parameter." },
      ],
      "no-restricted-globals": ["error", "process", "setTimeout", "setInterval", "console"],
    },
  },
  {
    files: ["**/*.js", "**/*.mjs"],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    // The status page's script runs in the browser (type-checked by its own tsconfig.json).
    files: ["src/status-page/page/**/*.js"],
    languageOptions: {
      globals: Object.fromEntries(
        [
          "document",
          "performance",
          "fetch",
          "EventSource",
          "FormData",
          "URLSearchParams",
          "HTMLElement",
          "IntersectionObserver",
          "setTimeout",
          "clearTimeout",
          "setInterval",
        ].map((name) => [name, "readonly"]),
      ),
    },
  },
);

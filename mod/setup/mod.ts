/**
 * Set-up checks for `deno task demo` and `deno task test`: the Debian packages whose commands the
 * lab, the demo and the tests run (`packages.txt`, the one list), and the preflight that installs
 * the missing ones as root with apt, or prints the exact command and exits 2.
 * @module
 */

export {
  aptInstallLine,
  findCommand,
  missingFrom,
  type MissingPackage,
  optionalFor,
  optionalPackages,
  PACKAGE_LIST_URL,
  type PackageEntry,
  packageList,
  parsePackageList,
  pathDirs,
  requiredFor,
  requiredPackages,
  type Task,
} from "./packages.ts";
export {
  EXIT_SETUP,
  preflight,
  PREFLIGHT_USAGE,
  type PreflightIo,
  preflightMain,
  type PreflightOptions,
  systemIo,
} from "./preflight.ts";

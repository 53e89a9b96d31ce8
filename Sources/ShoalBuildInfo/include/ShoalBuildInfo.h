#ifndef SHOAL_BUILD_INFO_H
#define SHOAL_BUILD_INFO_H

/// The commit `shoal` was built from, as `scripts/release` records it (40 hex digits, with
/// "-dirty" when the work tree had changes), or an empty string for any other build.
const char *shoal_build_commit(void);

#endif

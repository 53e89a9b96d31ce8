#include "ShoalBuildInfo.h"

// Package.swift defines SHOAL_BUILD_COMMIT from the environment variable of that name, which
// scripts/release sets; a build without it records no commit.
#ifndef SHOAL_BUILD_COMMIT
#define SHOAL_BUILD_COMMIT ""
#endif

const char *shoal_build_commit(void) { return SHOAL_BUILD_COMMIT; }

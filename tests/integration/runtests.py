"""Discovers tests/integration/test_*.py and runs them verbosely; ends with
the plain line 'integration: N passed, N failed, N skipped'.  Arguments:
-k PATTERN (repeatable) or test ids (e.g. test_forward.Forwarding)."""

import os
import sys
import time
import unittest

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)


def main(argv):
    patterns, names = [], []
    it = iter(argv)
    for a in it:
        if a == "-k":
            patterns.append(next(it))
        else:
            names.append(a)
    loader = unittest.TestLoader()
    if patterns:
        loader.testNamePatterns = ["*%s*" % p for p in patterns]
    if names:
        suite = loader.loadTestsFromNames(names)
    else:
        suite = loader.discover(here, pattern="test_*.py", top_level_dir=here)
    t0 = time.time()
    result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
    # a test with failing subtests counts once; class/module set-up and
    # tear-down errors count as one failure each
    failed_ids = set()
    extra = 0
    for test, _ in result.failures + result.errors:
        case = getattr(test, "test_case", test)
        if isinstance(case, unittest.TestCase):
            failed_ids.add(case.id())
        else:
            extra += 1
    for test in result.unexpectedSuccesses:
        failed_ids.add(test.id())
    skipped = len({t.id() for t, _ in result.skipped})
    failed = len(failed_ids) + extra
    passed = max(result.testsRun - len(failed_ids) - skipped, 0)
    print("integration: elapsed %.0fs" % (time.time() - t0))
    print("integration: %d passed, %d failed, %d skipped" % (passed, failed, skipped))
    sys.stdout.flush()
    return 0 if failed == 0 and result.testsRun > 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""The simulated `/bin/bash` of the mock's Linux and Solaris guests: a command line run over the guest's files.

vCenter starts `path arguments` through `/bin/bash` on those guests, so the mock runs the whole line
as bash does. `bashlex` (a port of bash's own parser) parses it; this module walks the tree:
quoting and escapes, variables and the special parameters (`$?`, `$#`, `$@`, `$*`, `$0`..`$9`,
`$$`), `~`, assignments, redirections (`<`, `>`, `>>`, `N>file`, `2>&1`, `>&2`, `N>&-`,
`/dev/null`), `;`, `&&`, `||`, pipes and `!`, `{ ...; }` groups and `( ... )` subshells (with
redirections), `if`/`elif`/`else`, `for`, `while`/`until`, `case` (patterns as bash matches them,
`;&`, `;;&`), shell functions, and the builtins `cd`, `exit`, `exec`, `export`, `echo`, `printf`,
`test`/`[`, `true`, `false`, `:`, `break`, `continue`, `return`, `local`, `read`. Programs are files of the
guest: a declared program (the inventory's `programs`, with a simulated utility or declared
output), or a script (a shebang of sh or bash, or none), run by a nested shell. Anything else
(command substitution, arithmetic, `[[ ]]`, globbing in directories, here-documents, `&`...) fails
loudly: a message on the shell's stderr and exit status 2. Loops and function calls count against
the run's budget (commands, nesting): one that never ends ends with the budget's exit.

Everything a line does happens when the process starts; its duration (the sleeps and declared
durations of what it ran) only decides when it ends. A command of infinite duration stops the line
there: nothing after it ever runs. A run has a budget (`_budget.Budget`: commands, nesting, source
parsed, bytes written, printf widths); past it the run ends at once with `BUDGET_EXIT_CODE` and says
why on the stderr of the command that went over.
"""

from __future__ import annotations

from ._interpreter import DEFAULT_PATH
from ._parsing import MAX_LINE, command_line, command_names, plain_words
from ._run import run_line, run_script
from ._streams import Buffer, Closed, FileStream, Machine, Null, Outcome, Stream, write
from ._utilities import UTILITIES

__all__ = [
    "DEFAULT_PATH",
    "MAX_LINE",
    "UTILITIES",
    "Buffer",
    "Closed",
    "FileStream",
    "Machine",
    "Null",
    "Outcome",
    "Stream",
    "command_line",
    "command_names",
    "plain_words",
    "run_line",
    "run_script",
    "write",
]

"""dcctl's tests: a regular package, so no installed distribution's top-level `tests`
(textfsm 2.1.1 ships one) can shadow it; a namespace package loses to any regular one."""

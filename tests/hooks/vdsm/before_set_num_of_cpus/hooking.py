"""A small stand-in for VDSM's `hooking` module (vdsm.hook.hooking), with
the calls VDSM's hooks use: read_domxml, write_domxml, exit_hook, tobool.

VDSM installs `hooking` as a Python module; a hook written for it runs
unchanged under hotcpu-ctl when this file (or VDSM's own module) is
importable.  Here it lies next to the hooks: Python puts a script's own
folder first on sys.path, which works because hotcpu-ctl starts each hook
by its path.  Not executable, so hotcpu-ctl does not run it as a hook.
"""
import os
import sys
from xml.dom import minidom


def read_domxml():
    """The domain XML from the file named by $_hook_domxml, parsed."""
    with open(os.environ['_hook_domxml'], 'rb') as f:
        return minidom.parseString(f.read())


def write_domxml(domxml):
    """Writes the domain XML back.  VDSM reads it back for some hooks;
    hotcpu-ctl does not: a set_num_of_cpus hook cannot change the domain
    through it."""
    with open(os.environ['_hook_domxml'], 'w') as f:
        f.write(domxml.toxml())


def exit_hook(message, return_code=2):
    """Ends the hook with @message on stderr.  2, the default, fails the
    hook and stops the chain: a before hook's 2 vetoes the change."""
    sys.stderr.write(message + '\n')
    sys.exit(return_code)


def tobool(value):
    """A custom property's text as a boolean, as VDSM reads them."""
    return str(value).strip().lower() in ('1', 'true', 'yes', 'on')

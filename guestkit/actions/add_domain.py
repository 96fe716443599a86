"""Library actions: opening guests by libvirt domain, and libvirt authentication."""

from .table import (Action, String, Int, StringList, KeyBuffer, Pointer, OBool, OString,
                    RErr, RInt, RString, RStringList, CONFIG)

_DRIVE_OPTS = [OBool("readonly"), OString("iface"), OBool("live")]
_TAIL_OPTS = [OString("readonlydisk"), OString("cachemode"), OString("discard"),
              OBool("copyonread")]

ACTIONS = [
    Action("add_domain", [String("dom")], RInt(),
           [OString("libvirturi")] + _DRIVE_OPTS + [OBool("allowuuid")] + _TAIL_OPTS,
           daemon=False, state=CONFIG, fish_alias=["domain"],
           doc="Add every disk of the libvirt domain DOM (a name, or a UUID with allowuuid) "
               "in order; returns how many were added.  The domain's XML gives each disk's "
               "source (file, block device, network with hosts and secrets, storage volume) "
               "and format.  readonly=True is required when the domain is running.  "
               "readonlydisk says what to do with disks marked <readonly/>: read (default: "
               "add them read-only), write, error (fail unless readonly=True) or ignore "
               "(skip them).  If any disk cannot be added, none is.  live is not supported."),
    Action("add_libvirt_dom", [Pointer("dom")], RInt(), _DRIVE_OPTS + _TAIL_OPTS,
           daemon=False, state=CONFIG,
           doc="As add_domain, given a libvirt-python virDomain object."),
    Action("set_libvirt_supported_credentials", [StringList("creds")], daemon=False,
           doc="Credential types the program can answer when libvirt asks (username, "
               "authname, passphrase, echoprompt, noechoprompt, realm, external, ...).  "
               "When libvirt asks, a LIBVIRT_AUTH event is sent; its callback reads the "
               "requests with get_libvirt_requested_credentials and answers with "
               "set_libvirt_requested_credential."),
    Action("get_libvirt_requested_credentials", [], RStringList(), daemon=False,
           doc="Inside a LIBVIRT_AUTH callback: the credential types libvirt asks for."),
    Action("get_libvirt_requested_credential_prompt", [Int("index")], RString(),
           daemon=False, doc="Inside a LIBVIRT_AUTH callback: the prompt of request INDEX."),
    Action("get_libvirt_requested_credential_challenge", [Int("index")], RString(),
           daemon=False,
           doc="Inside a LIBVIRT_AUTH callback: the challenge of request INDEX."),
    Action("get_libvirt_requested_credential_defresult", [Int("index")], RString(),
           daemon=False,
           doc="Inside a LIBVIRT_AUTH callback: the default answer of request INDEX."),
    Action("set_libvirt_requested_credential", [Int("index"), KeyBuffer("cred")], RErr(),
           daemon=False,
           doc="Inside a LIBVIRT_AUTH callback: answer request INDEX with CRED.  The "
               "answer is never traced or logged."),
]

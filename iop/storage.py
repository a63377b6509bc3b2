"""Where the static files are, as production serves them."""

from whitenoise.storage import CompressedManifestStaticFilesStorage


class ManifestStaticFilesStorage(CompressedManifestStaticFilesStorage):
    """whitenoise's (each file under a name with its content's hash, and compressed), with each
    file's address worked out once for the process.

    The manifest that maps a file to its hashed name is read once, when the process starts, and
    does not change while it runs; yet Django looks each name up again, and builds its address, at
    every ``{% static %}``: the layout's style sheets and scripts on every page, and a score of
    them on each admin page."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._addresses: dict[str, str] = {}

    def url(self, name, force=False):
        if force:
            return super().url(name, force=True)
        address = self._addresses.get(name)
        if address is None:
            address = self._addresses[name] = super().url(name)
        return address

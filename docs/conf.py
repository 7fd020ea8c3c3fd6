# Sphinx configuration for qemu-vmbus's documentation (make docs).
import os

project = 'qemu-vmbus'
copyright = '2026, the qemu-vmbus authors'
with open(os.path.join(os.path.dirname(__file__), '..', 'VERSION')) as f:
    version = release = f.read().strip()

# As QEMU's own manuals: reStructuredText, the Read the Docs theme.
master_doc = 'index'
exclude_patterns = ['_build']
highlight_language = 'none'
html_theme = 'sphinx_rtd_theme'
html_title = 'qemu-vmbus ' + release

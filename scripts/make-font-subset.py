#!/usr/bin/env python3
"""Build assets/fonts/NotoSansSC-dipr.otf: Noto Sans CJK SC Regular (SIL OFL 1.1) cut down to ASCII,
Latin-1, general punctuation, CJK punctuation, full-width forms and every character of GB 2312, so the
certificate PDF can print any holder or product name written in standard Simplified Chinese.

Needs Debian's fonts-noto-cjk and `pip install fonttools`. Run from the repository root.
"""
from fontTools import subset
from fontTools.ttLib import TTCollection

SRC = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
OUT = "assets/fonts/NotoSansSC-dipr.otf"

chars = set(range(0x20, 0x7F)) | set(range(0xA0, 0x100)) | set(range(0x2000, 0x2070)) | set(range(0x3000, 0x3040)) | set(range(0xFF00, 0xFFF0))
for hi in range(0xA1, 0xF8):
    for lo in range(0xA1, 0xFF):
        try:
            chars.add(ord(bytes([hi, lo]).decode("gb2312")))
        except UnicodeDecodeError:
            pass

collection = TTCollection(SRC)
font = next(f for f in collection.fonts if "SC" in f["name"].getDebugName(1))
options = subset.Options()
options.layout_features = ["*"]
options.name_IDs = ["*"]
options.notdef_outline = True
subsetter = subset.Subsetter(options)
subsetter.populate(unicodes=chars)
subsetter.subset(font)
font.save(OUT)
print(OUT, len(chars), "characters")

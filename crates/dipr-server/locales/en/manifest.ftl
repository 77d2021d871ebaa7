# A filed fingerprint manifest (the applicant's filing page and the examiner's review)
manifest-root = Content commitment root
manifest-kind = Object committed
manifest-kind-dataset = Dataset (committed record by record)
manifest-kind-package = Algorithm package (source code, models; committed file by file)
manifest-records = Records
manifest-records-value = { $n } distinct records
manifest-columns = Columns
manifest-views = Views
manifest-files = Files
manifest-files-value = { $files } files ({ $text } of them text)
manifest-n-files = { $n } files
manifest-languages = Languages
manifest-code = Source-code fingerprints
manifest-code-value = { $n } winnowed fingerprints of normalised { $k }-token grams (window { $w }), { $kept } sampled
manifest-tensors = Model tensors
manifest-tensors-value = { $n } tensors, { $parameters } parameters
manifest-digest = Manifest digest (SHA-256)

# One filing's page (/me/filings/{id}), as its applicant or holder works on it.
my-filing-not-found = No such filing, or it is not yours.
my-filing-gone = No such filing.
my-filing-back = ← My registry
my-filing-receipt = Receipt
my-filing-receipt-event-no = event no.
my-filing-receipt-logged = in the public log at index { $index }
my-filing-public-record = See the public record
my-filing-registration-number = Registration number
my-filing-certificate-pdf = Certificate (PDF)
my-filing-certificate-json = Certificate (JSON, verifiable offline)

# What the examiners said.
my-filing-correction = The examiner asks for corrections
my-filing-correct-by = Correct and resubmit by
my-filing-decisions = Decisions
my-filing-date = Date
my-filing-decision = Decision
my-filing-examiner = Examiner
my-filing-reasons = Reasons
my-filing-objections = Objections
my-filing-decision-due = decision due
my-filing-my-response = My response:
my-filing-upheld = Upheld
my-filing-dismissed = Dismissed
my-filing-answer = Answer the objection
my-filing-send-answer = Send the answer

# Editing, and the fingerprint manifest.
my-filing-application = The application
my-filing-resubmit = Resubmit
my-filing-response = What you corrected
my-filing-save = Save
my-filing-commitment = Data fingerprint (content commitment)
my-filing-fingerprint = Data fingerprint
my-filing-fingerprint-lead = Run dipr fingerprint --discovery-key … on your own machine (the data never leaves it), then choose the manifest it wrote.
my-filing-no-fingerprint = No fingerprint filed yet.
my-filing-current-commitment = Current commitment:
my-filing-manifest-file = Choose the manifest file (JSON)
my-filing-manifest-paste = Or paste the manifest
my-filing-file-fingerprint = File the fingerprint

# Discarding, withdrawing, cancelling.
my-filing-discard = Discard the draft
my-filing-discard-warning = The draft was never submitted: once discarded it leaves your list (the audit trail keeps it), and the product may be filed again at any time.
my-filing-withdraw-heading = Withdraw the application
my-filing-withdraw-warning = The same product may not be filed again for three months.
my-filing-withdraw-reason = Reason
my-filing-withdraw = Withdraw
my-filing-cancel = Cancel the registration
my-filing-cancel-warning = The certificate stops being valid and the cancellation is logged publicly; a pledged product needs every pledgee's consent.
my-filing-cancel-reason = Reason

# Licences.
my-filing-licences = Licences
my-filing-licensee = Licensee
my-filing-kind = Kind
my-filing-term = Term
my-filing-fee = Fee
my-filing-status = Status
my-filing-actions = Actions
my-filing-licence-active = active
my-filing-licence-ended = ended
my-filing-end-licence = End the licence to { $licensee }
my-filing-end = End
my-filing-add-licence = Register a licence
my-filing-lic-licensee = Licensee's credit code / ID number
my-filing-lic-kind = Kind
my-filing-lic-start = Starts (YYYY-MM-DD)
my-filing-lic-end = Ends (YYYY-MM-DD)
my-filing-lic-territories = Territories (comma-separated; empty: everywhere)
my-filing-lic-scopes = Scopes of use (comma-separated; empty: every use)
my-filing-lic-fee = Fee in yuan (optional)
my-filing-grant-licence = Register the licence

# Transactions.
my-filing-transactions = Transactions and income
my-filing-transactions-lead = Amounts count in the public statistics; counterparties stay private.
my-filing-amount = Amount
my-filing-counterparty = Counterparty
my-filing-add-transaction = Book a transaction
my-filing-tx-amount = Amount (yuan)
my-filing-tx-date = Date (YYYY-MM-DD)
my-filing-tx-licence = Licence (for a licence fee)
my-filing-tx-no-licence = None
my-filing-tx-note = Note
my-filing-book = Book it
my-filing-tx-licence-fee = Licence fee
my-filing-tx-trade = Trade
my-filing-tx-service-fee = Service fee

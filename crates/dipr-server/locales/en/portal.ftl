# Sign-in, and "my registry": filings, pledges awaiting consent, the review queue, notifications, the bank's
# pledge book and pledge form.
signin-heading = Sign in
signin-username = Username
signin-password = Password
signin-button = Sign in
# The link (signin-create-account) follows after a space.
signin-forgot = Forgot your password?
signin-no-account = No account yet?{" "}
signin-create-account = Create an applicant account
signin-expired = The form expired; please submit it again.
signin-wrong = Wrong username or password.

me-heading = My registry
me-change-password = Change password
me-email = E-mail address
me-sign-out = Sign out
me-filings-heading = My filings and registrations
me-new-filing = File a new application
me-col-product = Product
me-col-status = Status
me-col-deadline = Deadline
me-col-certificate = Certificate
me-consents-heading = Pledges awaiting your consent
me-col-pledgee = Pledgee
me-col-debtor = Debtor
me-others-debt = another party's debt
me-col-secured = Secured
me-col-stated-rank = Stated rank
me-col-term = Term
me-col-actions = Actions
me-consent = Consent
me-queue-heading = Review queue (oldest first)
me-col-applicant = Applicant
me-decide-objection-by = decide objection by
me-disputes-heading = Objections after grant to decide
me-col-holder = Holder
me-col-filed = Filed
me-notifications = Notifications
me-none = None
me-admin = Administration
me-search-encumbrances = Search encumbrances before lending
me-consent-title = Pledge
me-consent-refused = The pledge was not registered
me-back = Back

# The bank's pledges: the book with release and enforcement, and the form that files a pledge.
pledge-book-heading = My pledges
pledge-book-col-number = Registration number
pledge-book-col-rank = Rank
pledge-book-col-term = Loan term
pledge-book-release = Release
pledge-book-release-note = The loan is repaid: the pledge ends, the release is logged publicly, and it cannot be restored.
pledge-book-release-button = Release the pledge
pledge-book-enforce = Enforce
pledge-book-to = Transferee's credit code / ID number
pledge-book-reasons = The default and the enforcement title
pledge-book-enforce-button = Enforce (the product is transferred)
pledge-book-awaiting-consent = Awaiting the holder's consent
me-pledge-heading = Register a pledge
me-pledge-registration-number = Registration number
me-pledge-secured = Secured amount (yuan)
me-pledge-start = Loan starts
me-pledge-end = Loan ends
me-pledge-rank = Rank (1 for the first pledge)
me-pledge-submit = File the pledge
me-pledge-note = The pledge takes effect when the holder consents; earlier pledgees are notified.
me-pledge-not-found = No registration has this number.

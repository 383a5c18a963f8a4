"""Sign-in without Streamlit: accounts, passwords and throttling, session tokens and single sign-on."""

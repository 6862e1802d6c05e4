"""A seeded, labelled corpus of Italian and English chat messages for quality checks.

Used by the tests and by ``bench/dlp_bench.py``. Values come from Faker (cards,
IBANs, e-mails, phones, IPs, passwords) or are built to be valid with the same
python-stdnum modules a real issuer's numbers satisfy (codice fiscale, partita
IVA, DNI, NIR...). Hard negatives are the things a naive detector trips on:
order and tracking numbers, prices, dates, and look-alikes with a bad checksum.

Faker is a test/bench dependency, not a runtime one: it is imported lazily.

Templates use ``{kind}`` placeholders; kinds in :data:`LABELLED_KINDS` become
gold spans. ``<<text>>`` marks a literal HEALTH span.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import re
import string
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from stdnum import iban as std_iban
from stdnum import luhn
from stdnum.de import idnr as de_idnr
from stdnum.es import dni as es_dni
from stdnum.es import nie as es_nie
from stdnum.fr import nir as fr_nir
from stdnum.it import codicefiscale

from crocevia.dlp.findings import Label

if TYPE_CHECKING:
    from faker import Faker


@dataclass(frozen=True)
class GoldSpan:
    label: str
    start: int
    end: int


@dataclass(frozen=True)
class Sample:
    text: str
    lang: str
    kind: str  # "positive", "hard_negative" or "clean"
    spans: tuple[GoldSpan, ...]


# --------------------------------------------------------------------------- values


class _Values:
    """Generators of valid (and deliberately invalid) values, all seeded."""

    def __init__(self, seed: int) -> None:
        from faker import Faker

        self.rng = random.Random(seed)
        self.fake: dict[str, Faker] = {}
        for index, locale in enumerate(("it_IT", "en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "nl_NL")):
            faker = Faker(locale)
            faker.seed_instance(seed * 31 + index)
            self.fake[locale] = faker

    # -- helpers
    def choice(self, items: Any) -> Any:
        return self.rng.choice(items)

    def digits(self, count: int) -> str:
        return "".join(self.rng.choice(string.digits) for _ in range(count))

    def _group(self, compact: str, sizes: tuple[int, ...] | None = None, sep: str = " ") -> str:
        if sizes is None:
            return sep.join(compact[i : i + 4] for i in range(0, len(compact), 4))
        parts, pos = [], 0
        for size in sizes:
            parts.append(compact[pos : pos + size])
            pos += size
        if pos < len(compact):
            parts.append(compact[pos:])
        return sep.join(p for p in parts if p)

    # -- payment cards
    def card_compact(self) -> str:
        card_type = self.choice(
            ["visa16", "visa16", "visa16", "mastercard", "mastercard", "amex", "discover", "jcb16",
             "diners", "maestro", "visa19"]
        )
        return str(self.fake["en_US"].credit_card_number(card_type=card_type))

    def card(self) -> str:
        number = self.card_compact()
        style = self.rng.random()
        if style < 0.3:
            return number
        sizes = (4, 6, 5) if len(number) == 15 else (4, 6, 4) if len(number) == 14 else None
        return self._group(number, sizes, "-" if style > 0.85 else " ")

    def bad_card(self) -> str:
        # 15/16-digit look-alikes: a 19-digit one may hide a valid 16-digit card
        # followed by a CVV, which is not a "bad checksum" example.
        while True:
            card_type = self.choice(["visa16", "mastercard", "amex", "discover", "jcb16"])
            number = str(self.fake["en_US"].credit_card_number(card_type=card_type))
            last = str((int(number[-1]) + self.rng.randint(1, 9)) % 10)
            broken = number[:-1] + last
            if not luhn.is_valid(broken):
                return self._group(broken) if self.rng.random() < 0.6 else broken

    # -- IBAN
    def iban_compact(self) -> str:
        locale = self.choice(["it_IT", "it_IT", "it_IT", "en_GB", "de_DE", "fr_FR", "es_ES", "nl_NL"])
        return str(self.fake[locale].iban())

    def iban(self) -> str:
        number = self.iban_compact()
        return self._group(number) if self.rng.random() < 0.6 else number

    def bad_iban(self) -> str:
        number = self.iban_compact()
        check = int(number[2:4])
        broken = f"{number[:2]}{(check + self.rng.randint(1, 50)) % 97 + 2:02d}{number[4:]}"
        if std_iban.is_valid(broken):
            broken = number[:-1] + str((int(number[-1]) + 1) % 10) if number[-1].isdigit() else broken
        return self._group(broken) if self.rng.random() < 0.6 else broken

    # -- codice fiscale
    _MONTHS = "ABCDEHLMPRST"
    _MUNICIPALITIES = ("H501", "F205", "L219", "F839", "G273", "A662", "D612", "L736", "A944", "C351",
                       "L424", "B157", "G224", "E506", "Z404", "Z112")

    @staticmethod
    def _letters_code(word: str, is_name: bool) -> str:
        letters = [c for c in word.upper() if c.isalpha() and c.isascii()]
        consonants = [c for c in letters if c not in "AEIOU"]
        vowels = [c for c in letters if c in "AEIOU"]
        if is_name and len(consonants) >= 4:
            consonants = [consonants[0], consonants[2], consonants[3]]
        return ("".join(consonants + vowels) + "XXX")[:3]

    def codice_fiscale(self, female: bool | None = None) -> str:
        fake = self.fake["it_IT"]
        female = self.rng.random() < 0.5 if female is None else female
        first = fake.first_name_female() if female else fake.first_name_male()
        code = self._letters_code(fake.last_name(), False) + self._letters_code(first, True)
        day = self.rng.randint(1, 28) + (40 if female else 0)
        code += f"{self.rng.randint(0, 99):02d}{self.choice(self._MONTHS)}{day:02d}"
        code += self.choice(self._MUNICIPALITIES)
        code += codicefiscale.calc_check_digit(code)
        assert codicefiscale.is_valid(code), code
        return code if self.rng.random() < 0.85 else code.lower()

    def bad_codice_fiscale(self) -> str:
        code = self.codice_fiscale().upper()
        wrong = self.choice([c for c in string.ascii_uppercase if c != code[-1]])
        return code[:-1] + wrong

    # -- partita IVA
    def partita_iva(self) -> str:
        base = self.digits(7) + f"{self.rng.randint(1, 100):03d}"
        number = base + luhn.calc_check_digit(base)
        return ("IT" + number) if self.rng.random() < 0.3 else number

    def bad_partita_iva(self) -> str:
        base = self.digits(7) + f"{self.rng.randint(1, 100):03d}"
        good = luhn.calc_check_digit(base)
        return base + str((int(good) + self.rng.randint(1, 9)) % 10)

    # -- identity documents
    def es_dni(self) -> str:
        number = self.digits(8)
        return number + es_dni.calc_check_digit(number)

    def es_nie(self) -> str:
        number = self.choice("XYZ") + self.digits(7)
        return number + es_nie.calc_check_digit(number)

    def fr_nir(self) -> str:
        body = (
            self.choice("12") + f"{self.rng.randint(40, 99):02d}" + f"{self.rng.randint(1, 12):02d}"
            + f"{self.rng.randint(1, 95):02d}" + self.digits(3) + self.digits(3)
        )
        number = body + fr_nir.calc_check_digits(body)
        return f"{number[0]} {number[1:3]} {number[3:5]} {number[5:7]} {number[7:10]} {number[10:13]} {number[13:]}"

    def gb_nino(self) -> str:
        first = self.choice("ABCEGHJKLMNPRSTWXYZ")
        second = self.choice("ABCEGHJKLMNPRSTWXYZ")
        while first + second in {"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"}:
            second = self.choice("ABCEGHJKLMNPRSTWXYZ")
        body = self.digits(6)
        suffix = self.choice("ABCD")
        if self.rng.random() < 0.5:
            return f"{first}{second} {body[:2]} {body[2:4]} {body[4:]} {suffix}"
        return f"{first}{second}{body}{suffix}"

    def de_idnr(self) -> str:
        while True:
            number = str(self.rng.randint(1, 9)) + self.digits(10)
            if de_idnr.is_valid(number):
                return number

    def it_passport(self) -> str:
        return self.choice(["YA", "YB", "YC", "AA", "AB"]) + self.digits(7)

    def it_cie(self) -> str:
        return "C" + self.choice(string.ascii_uppercase) + self.digits(5) + "".join(
            self.choice(string.ascii_uppercase) for _ in range(2)
        )

    # -- contact data
    def email(self, lang: str) -> str:
        fake = self.fake["it_IT" if lang == "it" else "en_US"]
        return str(self.choice([fake.email, fake.free_email, fake.company_email])())

    def phone(self, lang: str) -> str:
        import phonenumbers

        while True:
            if lang == "it":
                number = str(self.fake["it_IT"].phone_number())
                region = "IT"
                if self.rng.random() < 0.35 and number.startswith("3") and len(number) == 10:
                    number = f"{number[:3]} {number[3:6]} {number[6:]}"
            elif self.rng.random() < 0.25:
                number = self.choice(["+44 20 7946 0", "+44 7700 900", "+44 161 496 0"]) + self.digits(3)
                region = "GB"
            else:
                number = str(self.fake["en_US"].phone_number()).split("x")[0].strip()
                region = "US"
            try:
                if phonenumbers.is_valid_number(phonenumbers.parse(number, region)):
                    return number
            except phonenumbers.NumberParseException:
                continue

    def ip(self) -> str:
        fake = self.fake["en_US"]
        return str(self.choice([fake.ipv4_public, fake.ipv4_public, fake.ipv4_private, fake.ipv6])())

    # -- crypto wallets
    _B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
    _BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"

    def _base58check(self, payload: bytes) -> str:
        data = payload + hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4]
        value = int.from_bytes(data, "big")
        out = ""
        while value:
            value, rem = divmod(value, 58)
            out = self._B58[rem] + out
        return "1" * (len(data) - len(data.lstrip(b"\0"))) + out

    def _bech32(self, program: bytes) -> str:
        # BIP-173 reference encoder for witness version 0 (what python-stdnum checks).
        def polymod(values: list[int]) -> int:
            gen = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
            chk = 1
            for value in values:
                top = chk >> 25
                chk = (chk & 0x1FFFFFF) << 5 ^ value
                for i in range(5):
                    chk ^= gen[i] if (top >> i) & 1 else 0
            return chk

        acc, bits, data = 0, 0, [0]
        for byte in program:
            acc = (acc << 8) | byte
            bits += 8
            while bits >= 5:
                bits -= 5
                data.append((acc >> bits) & 31)
        if bits:
            data.append((acc << (5 - bits)) & 31)
        hrp = [ord(c) >> 5 for c in "bc"] + [0] + [ord(c) & 31 for c in "bc"]
        mod = polymod(hrp + data + [0] * 6) ^ 1
        checksum = [(mod >> 5 * (5 - i)) & 31 for i in range(6)]
        return "bc1" + "".join(self._BECH32[d] for d in data + checksum)

    def wallet(self) -> str:
        kind = self.rng.random()
        payload = bytes(self.rng.getrandbits(8) for _ in range(20))
        if kind < 0.3:
            return self._base58check(b"\x00" + payload)
        if kind < 0.45:
            return self._base58check(b"\x05" + payload)
        if kind < 0.7:
            return self._bech32(payload)
        hexdigits = payload.hex()
        return "0x" + "".join(c.upper() if c.isalpha() and self.rng.random() < 0.5 else c for c in hexdigits)

    def bad_wallet(self) -> str:
        address = self._base58check(b"\x00" + bytes(self.rng.getrandbits(8) for _ in range(20)))
        pos = self.rng.randint(5, len(address) - 2)
        replacement = self.choice([c for c in self._B58 if c != address[pos]])
        return address[:pos] + replacement + address[pos + 1 :]

    # -- secrets
    def password(self) -> str:
        fake = self.fake["en_US"]
        if self.rng.random() < 0.3:
            word = self.choice(["Estate", "Milano", "Juventus", "Sole", "Summer", "Dragon", "Pippo", "Casa"])
            return word + str(self.rng.randint(1, 2025)) + self.choice(["!", "", "?", "#", "."]).rstrip(".")
        return str(fake.password(length=self.rng.randint(8, 16), special_chars=self.rng.random() < 0.7))

    def otp(self) -> str:
        return self.digits(self.choice([6, 6, 6, 8, 5]))

    def pin(self) -> str:
        return self.digits(self.choice([4, 4, 5, 6]))

    def _alnum(self, count: int, alphabet: str = string.ascii_letters + string.digits) -> str:
        return "".join(self.choice(alphabet) for _ in range(count))

    def api_key(self, generic: bool = True) -> str:
        """A vendor token, a JWT, a PEM key or, if ``generic``, a bare random token.

        A bare random token is only recognisable next to a word like "token",
        so templates without such a word ask for ``generic=False``.
        """
        kind = self.rng.randint(0, 10 if generic else 8)
        if kind == 0:
            return "AKIA" + self._alnum(16, string.ascii_uppercase + string.digits)
        if kind == 1:
            return "ghp_" + self._alnum(36)
        if kind == 2:
            return "github_pat_" + self._alnum(22) + "_" + self._alnum(59)
        if kind == 3:
            return f"xoxb-{self.digits(12)}-{self.digits(13)}-{self._alnum(24)}"
        if kind == 4:
            return self.choice(["sk_live_", "rk_live_"]) + self._alnum(24)
        if kind == 5:
            return "AIza" + self._alnum(35, string.ascii_letters + string.digits + "-_")
        if kind == 6:
            return "sk-proj-" + self._alnum(48)
        if kind == 7:
            return self.jwt()
        if kind == 8:
            body = "\n".join(self._alnum(64, string.ascii_letters + string.digits + "+/") for _ in range(4))
            key_type = self.choice(["RSA ", "EC ", "OPENSSH ", ""])
            return f"-----BEGIN {key_type}PRIVATE KEY-----\n{body}\n-----END {key_type}PRIVATE KEY-----"
        alphabet = "0123456789abcdef" if self.rng.random() < 0.5 else string.ascii_letters + string.digits
        return self._alnum(self.choice([32, 40]), alphabet)

    def jwt(self) -> str:
        def b64(obj: dict[str, Any]) -> str:
            return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

        header = b64({"alg": self.choice(["HS256", "RS256"]), "typ": "JWT"})
        payload = b64({"sub": self.digits(8), "name": self.fake["en_US"].name(), "iat": 1700000000})
        signature = base64.urlsafe_b64encode(self.rng.randbytes(32)).decode().rstrip("=")
        return f"{header}.{payload}.{signature}"

    # -- unlabelled fillers
    def order_number(self) -> str:
        style = self.rng.randint(0, 3)
        if style == 0:
            return f"{self.digits(4)} {self.digits(4)} {self.digits(4)}"
        if style == 1:
            return self.digits(self.choice([8, 10, 12, 16]))
        if style == 2:
            return f"{self.rng.randint(2019, 2025)}/{self.digits(5)}"
        return f"{self.digits(4)} {self.digits(4)} {self.digits(4)} {self.digits(4)}"

    def tracking(self) -> str:
        style = self.rng.randint(0, 3)
        if style == 0:
            return "1Z" + self._alnum(6, string.ascii_uppercase + string.digits) + self.digits(10)
        if style == 1:
            return self.choice(["LX", "RR", "CP"]) + self.digits(9) + "IT"
        if style == 2:
            return self.digits(self.choice([12, 13, 14, 18]))
        return f"0{self.digits(2)} {self.digits(4)} {self.digits(4)} {self.digits(3)}"

    def price(self, lang: str) -> str:
        amount = self.rng.uniform(1, 25000)
        if lang == "it":
            text = f"{amount:,.2f}".replace(",", "X").replace(".", ",").replace("X", ".")
            return self.choice([f"€ {text}", f"{text} €", f"{text} euro", f"EUR {text}"])
        return self.choice([f"${amount:,.2f}", f"£{amount:,.2f}", f"{amount:,.2f} USD"])

    def date(self, lang: str) -> str:
        fake = self.fake["it_IT" if lang == "it" else "en_US"]
        day = fake.date_between("-2y", "+1y")
        formats = ["%d/%m/%Y", "%d.%m.%Y", "%Y-%m-%d", "%d/%m/%y", "%d-%m-%Y"]
        if lang == "en":
            formats = ["%m/%d/%Y", "%Y-%m-%d", "%B %d, %Y", "%d %b %Y"]
        return day.strftime(self.choice(formats))

    def time(self) -> str:
        return f"{self.rng.randint(7, 22)}:{self.choice(['00', '15', '30', '45'])}"


# --------------------------------------------------------------------------- templates

LABELLED_KINDS: dict[str, str] = {
    "card": Label.CREDIT_CARD, "iban": Label.IBAN, "cf": Label.IT_FISCAL_CODE, "piva": Label.IT_VAT_CODE,
    "dni": Label.ID_DOCUMENT, "nie": Label.ID_DOCUMENT, "nir": Label.ID_DOCUMENT, "nino": Label.ID_DOCUMENT,
    "idnr": Label.ID_DOCUMENT, "passport": Label.ID_DOCUMENT, "cie": Label.ID_DOCUMENT,
    "email": Label.EMAIL, "phone": Label.PHONE, "ip": Label.IP_ADDRESS, "wallet": Label.CRYPTO_WALLET,
    "pw": Label.PASSWORD, "otp": Label.PASSWORD, "pin": Label.PASSWORD, "apikey": Label.API_KEY,
    "vendorkey": Label.API_KEY,
}

_POSITIVE: dict[str, dict[str, tuple[str, ...]]] = {
    "it": {
        Label.CREDIT_CARD: (
            "Ciao {first}, ti giro i dati della carta: {card} scad. {exp} cvv {cvv}",
            "paga pure con la mia carta {card}, grazie mille",
            "Numero carta {card}",
            "{card} è la carta aziendale, usala per il fornitore",
            "ok ecco il numero: {card} intestato a {name}",
            "Mi addebiti {price} sulla {card} per favore?",
            "la postepay è {card}, ricaricala tu",
        ),
        Label.IBAN: (
            "Per il bonifico usa l'IBAN {iban} intestato a {name}",
            "IBAN: {iban}",
            "ti mando le coordinate bancarie {iban}, causale fattura {invoice}",
            "{name} mi ha dato questo conto {iban} per il rimborso di {price}",
            "il nuovo iban è {iban} dal {date}",
        ),
        Label.IT_FISCAL_CODE: (
            "Il mio codice fiscale è {cf}",
            "CF {cf} per la fattura, grazie",
            "mi serve il cf di {first}: {cf}",
            "ecco i dati: {name}, {cf}, nato a {city}",
            "{cf}",
        ),
        Label.IT_VAT_CODE: (
            "P.IVA {piva} per l'intestazione della fattura",
            "La partita IVA dell'azienda è {piva}",
            "fattura a {company}, p.iva {piva}, sede a {city}",
            "ditta {company} partita iva {piva}",
        ),
        Label.ID_DOCUMENT: (
            "Ti mando il numero del passaporto: {passport}",
            "carta d'identità n. {cie} rilasciata dal comune di {city}",
            "il mio passaporto {passport} scade il {date}",
            "numero documento (carta di identità) {cie}",
            "el DNI de mi socio es {dni}",
            "il NIE del cliente spagnolo è {nie}",
            "numéro de sécurité sociale {nir}",
            "Steuer-ID {idnr} für die Rechnung",
        ),
        Label.EMAIL: (
            "scrivimi a {email} quando hai novità",
            "la mail di {first} è {email}",
            "Mandate il preventivo a {email} entro {date}",
            "{email}",
            "mi registri con {email}? grazie",
        ),
        Label.PHONE: (
            "chiamami al {phone} dopo le {time}",
            "il numero di {first} è {phone}",
            "Tel. {phone}",
            "mi trovi su whatsapp {phone}",
            "{phone} è il cellulare del tecnico",
            "se non rispondo prova al {phone}",
        ),
        Label.IP_ADDRESS: (
            "il server di produzione è {ip}, accedi con la vpn",
            "mi dà errore dall'indirizzo {ip}",
            "aggiungi {ip} alla whitelist per favore",
            "la stampante ha ip {ip}",
        ),
        Label.CRYPTO_WALLET: (
            "mandami i bitcoin su {wallet}",
            "wallet: {wallet}",
            "il mio indirizzo è {wallet}, grazie",
            "pagamento in crypto all'indirizzo {wallet}",
        ),
        Label.PASSWORD: (
            "la password è {pw}",
            "pwd: {pw}",
            "utente {first}.{last} password: {pw}",
            "la password del wifi è {pw}",
            "nuova password: {pw} (cambiala al primo accesso)",
            "il codice OTP è {otp}",
            "OTP {otp}",
            "PIN {pin}",
            "il PIN della carta è {pin}",
            "ti ho girato il codice di verifica {otp}, sbrigati che scade",
            "psw {pw}",
        ),
        Label.API_KEY: (
            "ecco la chiave API: {apikey}",
            "usa questo token {apikey} per il deploy",
            "{vendorkey}",
            "ho messo nel .env la key {apikey}",
            "il token del bot è {apikey}",
        ),
        Label.HEALTH: (
            "Ciao {first}, oggi non vengo: <<sono positivo al Covid>>",
            "<<tampone negativo>>, domani torno in ufficio",
            "a mia madre hanno fatto la <<diagnosi di diabete di tipo 2>>",
            "il medico <<mi ha prescritto la metformina>>",
            "stamattina <<glicemia 180>>, devo richiamare il dottore",
            "{first} <<è sieropositivo>>, non dirlo a nessuno",
            "<<soffro di depressione>> da anni, per questo sono assente",
            "sono a casa, <<ho la febbre e sono positiva al tampone>>",
            "<<colesterolo a 260>> e <<pressione 150/95>>, il medico non è contento",
            "{first} <<è in chemioterapia>> fino a {date}",
            "mi hanno trovato <<l'HIV>> agli esami",
            "<<emoglobina glicata 7,8%>>, devo cambiare terapia",
            "<<mi hanno diagnosticato la celiachia>>, niente pizza",
            "<<prendo la sertralina>> da due mesi",
        ),
    },
    "en": {
        Label.CREDIT_CARD: (
            "Here's my card number {card}, exp {exp}",
            "use the company card {card} for the hotel",
            "card: {card} cvv {cvv}",
            "pls charge {card} for {price}",
            "{card} is the Visa I use for AWS",
            "my amex is {card}",
        ),
        Label.IBAN: (
            "Please wire the refund to IBAN {iban}",
            "account {iban}, reference {invoice}",
            "bank details: {name}, {iban}",
            "{iban} is our new account",
        ),
        Label.IT_FISCAL_CODE: (
            "Her Italian tax code is {cf}",
            "fiscal code {cf} for the invoice",
            "codice fiscale: {cf}",
        ),
        Label.IT_VAT_CODE: (
            "Italian VAT number {piva}",
            "invoice to {company}, VAT {piva}",
        ),
        Label.ID_DOCUMENT: (
            "my passport number is {passport}",
            "National Insurance number {nino}",
            "NI number: {nino} for payroll",
            "his Spanish DNI is {dni}",
            "NIE {nie} for the rental contract",
            "French social security number {nir}",
            "passport no. {passport}, expires {date}",
        ),
        Label.EMAIL: (
            "email me at {email}",
            "send the deck to {email} before {time}",
            "{first}'s address is {email}",
            "contact: {email}",
        ),
        Label.PHONE: (
            "call me at {phone}",
            "my cell is {phone}",
            "{first}'s number: {phone}",
            "text {phone} when you land",
            "phone {phone}",
        ),
        Label.IP_ADDRESS: (
            "the db host is {ip}",
            "blocked requests from {ip} again",
            "ssh into {ip} and restart nginx",
        ),
        Label.CRYPTO_WALLET: (
            "send the BTC to {wallet}",
            "my ETH address: {wallet}",
            "pay to {wallet} please",
        ),
        Label.PASSWORD: (
            "my password is {pw}",
            "password: {pw}",
            "the wifi password is {pw}",
            "login {first} / pwd {pw}",
            "your verification code is {otp}",
            "OTP {otp}",
            "PIN {pin}",
            "temporary password: {pw}",
        ),
        Label.API_KEY: (
            "here's the API key: {apikey}",
            "token: {apikey}",
            "{vendorkey}",
            "use secret {apikey} for staging",
        ),
        Label.HEALTH: (
            "can't come in, <<I tested positive for covid>>",
            "<<my covid test came back negative>> so see you tomorrow",
            "{first} <<was diagnosed with breast cancer>> last week",
            "the doctor <<prescribed metformin>> for my dad",
            "<<blood sugar 180>> this morning, not great",
            "<<she's HIV-positive>>, keep it confidential",
            "<<I have diabetes>> so no cake for me",
            "{first} <<suffers from bipolar disorder>>",
            "<<I'm on antidepressants>> since March",
            "<<HbA1c 7.5%>> at my last checkup",
            "<<blood pressure 150/95>> again",
            "he <<started chemotherapy>> on {date}",
        ),
    },
}

# Two findings in one message.
_PAIRS: dict[str, tuple[str, ...]] = {
    "it": (
        "{name}, {email}, cell {phone}",
        "intestatario {name}, CF {cf}, IBAN {iban}",
        "accesso al server {ip} utente admin password: {pw}",
        "carta {card}, il PIN è {pin}",
        "fattura a {company} P.IVA {piva}, mail {email}",
    ),
    "en": (
        "{name} - {email} - {phone}",
        "server {ip}, token {apikey}",
        "card {card} and my email {email}",
        "passport {passport}, phone {phone}",
    ),
}

_HARD_NEGATIVE: dict[str, tuple[str, ...]] = {
    "it": (
        "il tuo ordine n. {order} è stato spedito",
        "Ordine {order} confermato, totale {price}",
        "tracking {tracking}, consegna prevista il {date}",
        "spedizione BRT n. {tracking} in consegna oggi",
        "il pacco {tracking} è in giacenza",
        "il totale è {price}, IVA inclusa",
        "ci vediamo il {date} alle {time}",
        "la riunione è spostata a {date} ore {time}",
        "fattura n. {invoice} del {date}, importo {price}",
        "ticket #{ticket} aperto da {first}",
        "la carta {bad_card} non passa, mi dà errore",
        "IBAN {bad_iban}? mi sa che è sbagliato",
        "il CF {bad_cf} risulta errato",
        "P.IVA {bad_piva} non valida secondo l'agenzia",
        "l'indirizzo {bad_wallet} non è valido",
        "password dimenticata, come faccio il reset?",
        "la password è scaduta, la cambio domani",
        "l'OTP non mi arriva, riprovo",
        "aggiorna alla versione {version}",
        "il test di carico è positivo, possiamo andare in produzione",
        "il feedback del cliente è stato negativo",
        "matricola {order} assegnata a {first}",
        "CAP {cap}, {city}",
        "ho speso {price} per {n} biglietti",
        "codice sconto ESTATE{n} valido fino al {date}",
        "chiama pure dopo le {time}",
    ),
    "en": (
        "your order #{order} has shipped",
        "order {order} total {price}",
        "tracking number {tracking}, arriving {date}",
        "the invoice {invoice} is {price}",
        "meeting on {date} at {time}",
        "see you {date}",
        "card {bad_card} was declined",
        "is {bad_iban} right? the bank rejected it",
        "forgot my password again, can you reset it?",
        "the password policy requires 12 characters",
        "the OTP never arrived",
        "upgrade to version {version}",
        "the test results are positive for the new release",
        "ticket {ticket} is closed",
        "it costs {price} per seat",
        "shipment {tracking} delayed",
        "call me after {time}",
    ),
}

_CLEAN: dict[str, tuple[str, ...]] = {
    "it": (
        "Ciao {first}, ci sentiamo domani?", "ok grazie mille!", "Perfetto, a dopo",
        "Riunione confermata per {date}", "{first} arriva alle {time}", "Buongiorno, avete novità sulla consegna?",
        "sono in ritardo di dieci minuti", "Mandami il file quando puoi", "il preventivo va bene",
        "ci vediamo a {city}", "buon weekend a tutti!", "Grazie per la pazienza",
    ),
    "en": (
        "Hi {first}, can we talk tomorrow?", "thanks!", "sounds good, see you then",
        "Meeting moved to {time}", "{first} will join later", "Any update on the delivery?",
        "running 10 minutes late", "send me the file when you can", "the quote looks fine",
        "let's meet in {city}", "have a great weekend", "thanks for your patience",
    ),
}

_PLACEHOLDER = re.compile(r"\{(\w+)\}|<<(.+?)>>")


class _Builder:
    def __init__(self, seed: int) -> None:
        self.values = _Values(seed)
        self.rng = self.values.rng

    def fill(self, kind: str, lang: str) -> str:
        v = self.values
        fake = v.fake["it_IT" if lang == "it" else "en_US"]
        generators: dict[str, Callable[[], str]] = {
            "card": v.card, "iban": v.iban, "cf": v.codice_fiscale, "piva": v.partita_iva,
            "dni": v.es_dni, "nie": v.es_nie, "nir": v.fr_nir, "nino": v.gb_nino, "idnr": v.de_idnr,
            "passport": v.it_passport, "cie": v.it_cie, "email": lambda: v.email(lang),
            "phone": lambda: v.phone(lang), "ip": v.ip, "wallet": v.wallet, "pw": v.password,
            "otp": v.otp, "pin": v.pin, "apikey": v.api_key, "vendorkey": lambda: v.api_key(generic=False),
            "bad_card": v.bad_card, "bad_iban": v.bad_iban, "bad_cf": v.bad_codice_fiscale,
            "bad_piva": v.bad_partita_iva, "bad_wallet": v.bad_wallet,
            "first": fake.first_name, "last": fake.last_name, "name": fake.name, "city": fake.city,
            "company": fake.company, "price": lambda: v.price(lang), "date": lambda: v.date(lang),
            "time": v.time, "order": v.order_number, "tracking": v.tracking,
            "invoice": lambda: f"{self.rng.randint(2019, 2025)}/{v.digits(5)}",
            "ticket": lambda: v.digits(5), "exp": lambda: f"{self.rng.randint(1, 12):02d}/{self.rng.randint(25, 31)}",
            "cvv": lambda: v.digits(3), "n": lambda: str(self.rng.randint(2, 30)),
            "version": lambda: f"{self.rng.randint(1, 12)}.{self.rng.randint(0, 20)}.{self.rng.randint(0, 9)}",
            "cap": lambda: v.digits(5),
        }
        return generators[kind]()

    def render(self, template: str, lang: str, kind: str) -> Sample:
        parts: list[str] = []
        spans: list[GoldSpan] = []
        cursor = 0
        length = 0
        for match in _PLACEHOLDER.finditer(template):
            literal = template[cursor : match.start()]
            parts.append(literal)
            length += len(literal)
            if match.group(1) is not None:
                value = self.fill(match.group(1), lang)
                label = LABELLED_KINDS.get(match.group(1))
            else:
                value, label = match.group(2), Label.HEALTH
            if label is not None:
                spans.append(GoldSpan(str(label), length, length + len(value)))
            parts.append(value)
            length += len(value)
            cursor = match.end()
        parts.append(template[cursor:])
        return Sample("".join(parts), lang, kind, tuple(spans))


def generate_corpus(
    n: int = 3000, seed: int = 42, *, positive_share: float = 0.6, negative_share: float = 0.25
) -> list[Sample]:
    """``n`` labelled messages, half Italian and half English, reproducible from ``seed``.

    Positives cycle over the labels so every label is represented; about one
    positive in eight holds two findings.
    """
    builder = _Builder(seed)
    rng = builder.rng
    samples: list[Sample] = []
    labels = list(Label)
    for index in range(n):
        lang = "it" if index % 2 == 0 else "en"
        roll = rng.random()
        if roll < positive_share:
            if rng.random() < 0.12:
                template = rng.choice(_PAIRS[lang])
            else:
                label = labels[(index // 2) % len(labels)]
                template = rng.choice(_POSITIVE[lang][label])
            samples.append(builder.render(template, lang, "positive"))
        elif roll < positive_share + negative_share:
            samples.append(builder.render(rng.choice(_HARD_NEGATIVE[lang]), lang, "hard_negative"))
        else:
            samples.append(builder.render(rng.choice(_CLEAN[lang]), lang, "clean"))
    return samples

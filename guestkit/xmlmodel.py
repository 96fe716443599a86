"""A small model for libvirt XML, in the manner of virt-manager's virtinst: each element is
a class whose fields are XPath-bound properties, so XML is read and written through plain
attributes, never by string concatenation.

    class Disk(XMLObject):
        ROOT = "disk"
        type = XMLProperty("./@type")
        driver_type = XMLProperty("./driver/@type")
        readonly = XMLProperty("./readonly", is_bool=True)
        source = XMLChild(DiskSource)

The classes of libvirt's domain XML are in guestkit/libvirt_xml.py.
"""

from lxml import etree


class XMLProperty:
    """A field bound to an XPath below the object's element: "./@attr", "./child",
    "./child/@attr", "./a/b".  is_bool: True when the element exists (set True creates it);
    is_int: the text or attribute as an int."""

    def __init__(self, xpath, is_int=False, is_bool=False):
        self.xpath = xpath
        self.is_int = is_int
        self.is_bool = is_bool

    def _split(self):
        parts = self.xpath[2:].split("/") if self.xpath.startswith("./") else [self.xpath]
        attr = parts.pop()[1:] if parts[-1].startswith("@") else None
        return parts, attr

    def __get__(self, obj, cls=None):
        if obj is None:
            return self
        found = obj.node.xpath(self.xpath)
        if self.is_bool:
            return bool(found)
        if not found:
            return None
        value = found[0]
        if isinstance(value, etree._Element):
            value = value.text
        value = str(value) if value is not None else None
        if self.is_int and value is not None:
            try:
                return int(value, 0) if not value.isdigit() else int(value)
            except ValueError:
                return None
        return value

    def __set__(self, obj, value):
        parts, attr = self._split()
        node = obj.node
        if value is None or (self.is_bool and not value):
            target = obj.node.xpath(self.xpath)
            for t in target:
                if isinstance(t, etree._Element):
                    t.getparent().remove(t)
                elif attr and len(parts) == 0:
                    obj.node.attrib.pop(attr, None)
                elif attr:
                    parent = obj.node.xpath("./" + "/".join(parts))
                    if parent:
                        parent[0].attrib.pop(attr, None)
            return
        for p in parts:
            child = node.find(p)
            if child is None:
                child = etree.SubElement(node, p)
            node = child
        if self.is_bool:
            return
        text = str(int(value)) if self.is_int else str(value)
        if attr:
            node.set(attr, text)
        else:
            node.text = text


class XMLChild:
    """The one child object of class CLS (at XPath, else ./CLS.ROOT), or None when there is
    none; give it one with obj.add(CLS())."""

    def __init__(self, cls, xpath=None):
        self.cls = cls
        self.xpath = xpath

    def __get__(self, obj, owner=None):
        if obj is None:
            return self
        found = obj.node.xpath(self.xpath or "./" + self.cls.ROOT)
        return self.cls(found[0]) if found else None


class XMLChildren:
    """A list of child objects of class CLS at XPath (read only; add with obj.add())."""

    def __init__(self, cls, xpath=None):
        self.cls = cls
        self.xpath = xpath

    def __get__(self, obj, owner=None):
        if obj is None:
            return self
        xp = self.xpath or "./" + self.cls.ROOT
        return [self.cls(n) for n in obj.node.xpath(xp)]


class XMLObject:
    ROOT = None

    def __init__(self, node=None):
        self.node = node if node is not None else etree.Element(self.ROOT)

    @classmethod
    def parse(cls, text):
        parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
        root = etree.fromstring(text.encode() if isinstance(text, str) else text, parser)
        if cls.ROOT and root.tag != cls.ROOT:
            raise ValueError("expected <%s>, got <%s>" % (cls.ROOT, root.tag))
        return cls(root)

    def add(self, child):
        """Append CHILD (an XMLObject) to this element; return CHILD."""
        self.node.append(child.node)
        return child

    def child_node(self, tag):
        """The first child element TAG, made if there is none."""
        node = self.node.find(tag)
        return node if node is not None else etree.SubElement(self.node, tag)

    def to_xml(self):
        return etree.tostring(self.node, pretty_print=True, encoding="unicode")
